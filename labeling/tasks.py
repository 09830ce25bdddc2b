"""Celery tasks of the labeling app: thin wrappers that load a Job and call a service."""
import logging
import os
import time
import traceback

from celery import shared_task
from django.db import transaction

from ml.training import NotEnoughLabels

from . import jobs
from .models import Job, ModelVersion
from .queue import request_retrain
from .retraining import retrain as retrain_service

log = logging.getLogger(__name__)


class JobBusy(Exception):
    """Another live worker runs this job; the message is retried later in case that worker dies."""


def claim_job(job_id: int, kind: str) -> Job | None:
    """Take a job under a row lock: a queued job, or a running one whose worker died (stale heartbeat).

    A redelivered message for a finished job does nothing; one for a job that a live worker is running
    raises JobBusy so it is tried again later, never run twice at once.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, kind=kind).first()
        if job is None or job.state in (Job.State.SUCCEEDED, Job.State.FAILED):
            return None
        if job.state == Job.State.RUNNING and not jobs.is_stale(job):
            raise JobBusy(f"job {job_id} is running on another worker")
        jobs.start(job)
        return job


def _test_delay() -> None:
    """Test-only hook: the crash test slows a task down so it can kill the worker in the middle of it."""
    seconds = float(os.environ.get("QUORUM_TEST_TASK_DELAY", "0") or 0)
    if seconds > 0:
        time.sleep(seconds)


@shared_task(name="labeling.tasks.retrain", bind=True, acks_late=True, reject_on_worker_lost=True)
def retrain(self, job_id: int) -> None:
    try:
        job = claim_job(job_id, Job.Kind.RETRAIN)
    except JobBusy as exc:
        raise self.retry(exc=exc, countdown=60, max_retries=None) from exc
    if job is None:
        return
    try:
        jobs.progress(job, 0, total=100, message="Computing features")
        _test_delay()
        version = retrain_service(job.project, job_id=job.pk, on_progress=lambda d, t: jobs.progress(
            job, int(60 * d / max(t, 1)), message=f"Computing features ({d}/{t})"))
        jobs.finish(job, result={"model_version": version.pk, "cv_accuracy": version.cv_accuracy},
                    message=f"Trained {version.name}: cross-validated accuracy {version.cv_accuracy:.1%}")
        jobs.send_task("review.tasks.flag_mislabels", args=[version.pk])
        jobs.send_task("labeling.tasks.auto_accept", args=[version.pk])
    except NotEnoughLabels as exc:
        jobs.finish(job, result={"skipped": str(exc)}, message=f"Not trained: {exc}")
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise
    finally:
        job.refresh_from_db()
        if job.params.get("rerun"):
            request_retrain(project=job.project, user=None)


@shared_task(name="labeling.tasks.auto_accept", acks_late=True, reject_on_worker_lost=True)
def auto_accept(version_id: int) -> None:
    """After a retrain (or when a manager turns it on): label what the model is sure of. Idempotent."""
    from .autoaccept import run

    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is not None:
        run(version=version)


@shared_task(name="labeling.tasks.import_file", bind=True, acks_late=True, reject_on_worker_lost=True)
def import_file(self, job_id: int) -> None:
    from .imports import run_import_job

    try:
        job = claim_job(job_id, Job.Kind.IMPORT)
    except JobBusy as exc:
        raise self.retry(exc=exc, countdown=60, max_retries=None) from exc
    if job is not None:
        run_import_job(job)


@shared_task(name="labeling.tasks.resend_stale_jobs")
def resend_stale_jobs() -> int:
    """Beat, every minute: jobs queued while the broker was down are sent again once it is back."""
    return jobs.resend_stale(older_than_seconds=60)


@shared_task(name="labeling.tasks.recount_project")
def recount_project(project_id: int) -> None:
    """Recount a big project's dashboard figures (labeling.stats): sent when a page finds them old."""
    from .stats import recount

    recount(project_id)
