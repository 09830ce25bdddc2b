"""The kinds of job the review app runs, registered with core.jobs when this module is imported."""
from core.jobs import register_kind

FLAG = register_kind("flag", label="Find mislabels", task="review.tasks.flag_job")
