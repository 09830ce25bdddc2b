"""Celery tasks for data health: thin wrappers that load the job or project and call health.services."""
from celery import shared_task

from core import jobs
from core.models import Label
from health.job_kinds import HEALTH
from health.services import boost_class as boost_class_service
from health.services import compute_health as compute_health_service


@shared_task(name="health.tasks.compute_health", acks_late=True, reject_on_worker_lost=True)
def compute_health(job_id: int) -> int | None:
    job = jobs.claim_job(job_id, HEALTH)
    if job is None:
        return None
    jobs.progress(job, 0, total=100, message="Starting")
    try:
        report = compute_health_service(project=job.project, job=job,
                                        progress=lambda done, message: jobs.progress(job, done, message=message))
    except Exception as exc:
        jobs.fail_unexpected(job, exc)  # logged with its traceback; the job says what broke and what to do
        raise
    n = report.findings.count()
    jobs.finish(job, result={"report": report.pk, "findings": n},
                message=f"Checked {report.n_items:,} items: {n} finding{'' if n == 1 else 's'}")
    return report.pk


@shared_task(name="health.tasks.boost_class", acks_late=True, reject_on_worker_lost=True)
def boost_class(label_id: int) -> int:
    label = Label.objects.select_related("project").filter(pk=label_id).first()
    if label is None:
        return 0
    return boost_class_service(project=label.project, label=label)
