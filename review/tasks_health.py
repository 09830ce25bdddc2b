"""Celery tasks for data health: thin wrappers that load the job or project and call review.health."""
import traceback

from celery import shared_task
from django.db import transaction

from labeling import jobs
from labeling.models import Job, Label

from .health import boost_class as boost_class_service
from .health import compute_health as compute_health_service


def _claim(job_id: int) -> Job | None:
    """Move a queued health job to running exactly once; a redelivered message for a finished job does nothing."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, kind=Job.Kind.HEALTH).first()
        if job is None or job.state in (Job.State.SUCCEEDED, Job.State.FAILED):
            return None
        jobs.start(job, total=100, message="Starting")
        return job


@shared_task(name="review.tasks.compute_health", acks_late=True, reject_on_worker_lost=True)
def compute_health(job_id: int) -> int | None:
    job = _claim(job_id)
    if job is None:
        return None
    try:
        report = compute_health_service(project=job.project, job=job,
                                        progress=lambda done, message: jobs.progress(job, done, message=message))
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise
    n = report.findings.count()
    jobs.finish(job, result={"report": report.pk, "findings": n},
                message=f"Checked {report.n_items:,} items: {n} finding{'' if n == 1 else 's'}")
    return report.pk


@shared_task(name="review.tasks.boost_class", acks_late=True, reject_on_worker_lost=True)
def boost_class(label_id: int) -> int:
    label = Label.objects.select_related("project").filter(pk=label_id).first()
    if label is None:
        return 0
    return boost_class_service(project=label.project, label=label)
