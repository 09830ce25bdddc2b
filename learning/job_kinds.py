"""The kinds of job the learning app runs, registered with core.jobs when this module is imported."""
from core.jobs import register_kind

RETRAIN = register_kind("retrain", label="Retrain and rank", task="learning.tasks.retrain")
RANK = register_kind("rank", label="Rank the queue", task="learning.tasks.rank")
