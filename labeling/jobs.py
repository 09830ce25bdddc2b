"""Creating, enqueueing and advancing Jobs; Celery sends are made after commit and survive a broker outage."""
import importlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
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
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(message=BROKER_DOWN_MESSAGE)

    transaction.on_commit(_send)


def create_job(*, project: Project, kind: str, user=None, total: int = 0, params: dict | None = None) -> Job:
    return Job.objects.create(project=project, kind=kind, created_by=user, total=total, params=params or {})


BROKER_DOWN_MESSAGE = "Waiting for the task queue (broker unavailable); it will start when the queue is back."
TASKS = {Job.Kind.IMPORT: "labeling.tasks.import_file", Job.Kind.RETRAIN: "labeling.tasks.retrain",
         Job.Kind.FLAG: "review.tasks.flag_job", Job.Kind.RANK: "labeling.tasks.rank"}


def start(job: Job, *, total: int | None = None, message: str = "") -> None:
    job.state = Job.State.RUNNING
    job.started_at = job.heartbeat_at = timezone.now()
    job.attempts += 1
    job.done = 0
    if total is not None:
        job.total = total
    job.message = message if job.attempts == 1 else (message or f"Resumed (attempt {job.attempts}) after its worker stopped")
    job.save(update_fields=["state", "started_at", "heartbeat_at", "attempts", "done", "total", "message"])


def is_stale(job: Job, now=None) -> bool:
    """A RUNNING job whose worker has not been heard of for QUORUM_JOB_STALE_SECONDS: its worker died."""
    now = now or timezone.now()
    beat = job.heartbeat_at or job.started_at or job.created_at
    return job.state == Job.State.RUNNING and beat < now - timedelta(seconds=settings.QUORUM_JOB_STALE_SECONDS)


def resend_stale(*, older_than_seconds: int = 60) -> int:
    """Send again the QUEUED jobs whose message may have been lost (broker down when they were queued).

    A duplicate message is harmless: the task claims its job under a row lock and does nothing for a job
    that another worker runs or has finished.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    sent = 0
    for job in Job.objects.filter(state=Job.State.QUEUED, created_at__lt=cutoff, kind__in=list(TASKS)).order_by("id"):
        if send_task(TASKS[job.kind], args=[job.pk]):
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED, message=BROKER_DOWN_MESSAGE).update(
                message="Sent to the task queue again after an outage.")
            sent += 1
    return sent


def progress(job: Job, done: int, *, total: int | None = None, message: str | None = None) -> None:
    """Record progress so the browser sees it while the work runs, and beat the job's heartbeat.

    Work that runs inside one long transaction (an all-or-nothing import on PostgreSQL) would hide both
    until it commits: the page would show no progress and the job would look stale to ``is_stale``. There
    the row is written through a short side connection that commits at once.
    """
    fields = {"done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        fields["total"] = total
    if message is not None:
        fields["message"] = message[:300]
    if not (connection.in_atomic_block and connection.vendor == "postgresql" and _side_update(job.pk, fields)):
        Job.objects.filter(pk=job.pk).update(**fields)
    for k, v in fields.items():
        setattr(job, k, v)


def _side_update(job_id: int, fields: dict) -> bool:
    """UPDATE the job row on a connection of its own (autocommit); False if that cannot be done."""
    import psycopg

    columns = ", ".join(f"{name} = %s" for name in fields)
    try:
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as side:
            side.execute("SET lock_timeout = '2s'")  # never wait long on a row our own transaction holds
            side.execute(f"UPDATE labeling_job SET {columns} WHERE id = %s", [*fields.values(), job_id])
        return True
    except psycopg.Error:
        log.warning("could not record progress of job %s on a side connection", job_id, exc_info=True)
        return False


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
