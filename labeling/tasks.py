"""Celery tasks of the labeling app: thin wrappers that load a Job and call a service."""
import logging
import traceback

from celery import shared_task
from django.db import transaction

from ml.training import NotEnoughLabels

from . import jobs
from .models import Job
from .queue import request_retrain
from .retraining import retrain as retrain_service

log = logging.getLogger(__name__)


def _claim(job_id: int, kind: str) -> Job | None:
    """Move a queued job to running exactly once; a redelivered message for a finished job does nothing."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, kind=kind).first()
        if job is None or job.state in (Job.State.SUCCEEDED, Job.State.FAILED):
            return None
        jobs.start(job)
        return job


@shared_task(name="labeling.tasks.retrain", acks_late=True, reject_on_worker_lost=True)
def retrain(job_id: int) -> None:
    job = _claim(job_id, Job.Kind.RETRAIN)
    if job is None:
        return
    try:
        jobs.progress(job, 0, total=100, message="Computing features")
        version = retrain_service(job.project, on_progress=lambda d, t: jobs.progress(
            job, int(60 * d / max(t, 1)), message=f"Computing features ({d}/{t})"))
        jobs.finish(job, result={"model_version": version.pk, "cv_accuracy": version.cv_accuracy},
                    message=f"Trained {version.name}: cross-validated accuracy {version.cv_accuracy:.1%}")
        jobs.send_task("review.tasks.flag_mislabels", args=[version.pk])
    except NotEnoughLabels as exc:
        jobs.finish(job, result={"skipped": str(exc)}, message=f"Not trained: {exc}")
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise
    finally:
        job.refresh_from_db()
        if job.params.get("rerun"):
            request_retrain(project=job.project, user=None)


@shared_task(name="labeling.tasks.import_file", acks_late=True, reject_on_worker_lost=True)
def import_file(job_id: int) -> None:
    from .imports import run_import_job

    job = _claim(job_id, Job.Kind.IMPORT)
    if job is not None:
        run_import_job(job)
