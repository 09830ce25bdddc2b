"""Celery tasks of the review app."""
import traceback

from celery import shared_task

from labeling import jobs
from labeling.models import Job, ModelVersion
from labeling.tasks import claim_job

from .services import flag_mislabels as flag_mislabels_service
from .services import run_flag_job


@shared_task(name="review.tasks.flag_mislabels", acks_late=True, reject_on_worker_lost=True)
def flag_mislabels(model_version_id: int) -> int:
    version = ModelVersion.objects.filter(pk=model_version_id).select_related("project").first()
    if version is None:
        return 0
    return flag_mislabels_service(model_version=version)

# Data-health tasks live in their own module; importing it here registers them under review.tasks.*.
from .tasks_health import boost_class, compute_health  # noqa: E402, F401


@shared_task(name="review.tasks.flag_job", acks_late=True, reject_on_worker_lost=True)
def flag_job(job_id: int) -> None:
    """The on-demand mislabel search, with progress (button on the review queue, or the API)."""
    job = claim_job(job_id, Job.Kind.FLAG)
    if job is None:
        return
    try:
        run_flag_job(job)
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise
