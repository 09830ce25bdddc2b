"""Creating, enqueueing and advancing Jobs; Celery sends are made after commit and survive a broker outage."""
import importlib
import logging

from django.db import transaction
from django.utils import timezone

from .models import Job, Project

log = logging.getLogger(__name__)


def send_task(name: str, *, args: list) -> bool:
    """Send a Celery task by name; False (and a log line) when the broker is unreachable."""
    from quorum.celery import app

    if app.conf.task_always_eager:  # tests and single-process runs: run it here and now
        importlib.import_module(name.rsplit(".", 1)[0])  # registers the task
        app.tasks[name].apply(args=args, throw=True)
        return True
    try:
        app.send_task(name, args=args)
        return True
    except Exception:  # noqa: BLE001 - any broker failure must not break the request that enqueued
        log.warning("broker unavailable: could not send %s%s", name, args, exc_info=True)
        return False


def enqueue_job(job: Job, task_name: str) -> None:
    """Send ``task_name(job.id)`` once the current transaction commits."""

    def _send():
        if not send_task(task_name, args=[job.pk]):
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
                message="Waiting for the task queue (broker unavailable); it will start when the queue is back."
            )

    transaction.on_commit(_send)


def create_job(*, project: Project, kind: str, user=None, total: int = 0, params: dict | None = None) -> Job:
    return Job.objects.create(project=project, kind=kind, created_by=user, total=total, params=params or {})


def start(job: Job, *, total: int | None = None, message: str = "") -> None:
    job.state = Job.State.RUNNING
    job.started_at = timezone.now()
    job.done = 0
    if total is not None:
        job.total = total
    job.message = message
    job.save(update_fields=["state", "started_at", "done", "total", "message"])


def progress(job: Job, done: int, *, total: int | None = None, message: str | None = None) -> None:
    """Record progress outside any transaction so the browser sees it while the work runs."""
    fields = {"done": done}
    if total is not None:
        fields["total"] = total
    if message is not None:
        fields["message"] = message[:300]
    Job.objects.filter(pk=job.pk).update(**fields)
    for k, v in fields.items():
        setattr(job, k, v)


def finish(job: Job, *, result: dict | None = None, message: str = "") -> None:
    job.state = Job.State.SUCCEEDED
    job.finished_at = timezone.now()
    job.done = job.total or job.done
    job.result = result or {}
    job.message = message[:300]
    job.save(update_fields=["state", "finished_at", "done", "result", "message"])


def fail(job: Job, error: str) -> None:
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.FAILED, finished_at=timezone.now(), error=error, message="Failed: see the error below."
    )
    job.state, job.error = Job.State.FAILED, error


def active_job(project: Project, kind: str) -> Job | None:
    return Job.objects.filter(project=project, kind=kind, state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()
