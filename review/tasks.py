"""Celery tasks of the review app."""
import traceback

from celery import shared_task

from core import jobs
from learning.models import ModelVersion
from review.job_kinds import FLAG
from review.services import flag_mislabels as flag_mislabels_service
from review.services import run_flag_job


@shared_task(name="review.tasks.flag_mislabels", acks_late=True, reject_on_worker_lost=True)
def flag_mislabels(model_version_id: int) -> int:
    version = ModelVersion.objects.filter(pk=model_version_id).select_related("project").first()
    if version is None:
        return 0
    return flag_mislabels_service(model_version=version)



@shared_task(name="review.tasks.flag_job", acks_late=True, reject_on_worker_lost=True)
def flag_job(job_id: int) -> None:
    """The on-demand mislabel search, with progress (button on the review queue, or the API)."""
    job = jobs.claim_job(job_id, FLAG)
    if job is None:
        return
    try:
        run_flag_job(job)
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise
