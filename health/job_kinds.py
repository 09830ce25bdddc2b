"""The kinds of job the health app runs, registered with core.jobs when this module is imported."""
from core.jobs import register_kind

HEALTH = register_kind("health", label="Data health", task="health.tasks.compute_health")
