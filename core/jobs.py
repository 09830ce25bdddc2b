"""Creating, enqueueing and advancing Jobs; Celery sends are made after commit and survive a broker outage.

The kinds of job are a registry that each app fills in from its ``AppConfig.ready()`` (``register_kind``):
core runs jobs without knowing which apps define them, and a kind cannot exist without the task that runs
it, so a job queued while the broker was down is always sent again (``resend_stale``).
"""
import importlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from celery.signals import task_failure
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import Job, Project

log = logging.getLogger(__name__)


def send_task(name: str, *, args: list) -> bool:
    """Send a Celery task by name; False (and a log line) when the broker is unreachable."""
    from quorum.celery import app

    if app.conf.task_always_eager:  # tests and single-process runs: run it here and now
        importlib.import_module(name.rsplit(".", 1)[0])  # registers the task
        app.tasks[name].apply(args=args, throw=True)
        return True
    try:
        app.send_task(name, args=args, ignore_result=True, retry=False)
        return True
    except Exception:  # noqa: BLE001 - any broker failure must not break the request that enqueued
        log.warning("broker unavailable: could not send %s%s", name, args, exc_info=True)
        return False


def send_after_commit(name: str, *, args: list) -> None:
    """Send a task once the current transaction commits (at once outside one): the task never sees
    uncommitted rows, and a broker outage costs a log line, never the request."""
    transaction.on_commit(lambda: send_task(name, args=args))


@dataclass(frozen=True)
class JobKind:
    name: str  # stored in Job.kind
    label: str  # shown to people
    task: str  # the Celery task that runs a job of this kind, given its id


KINDS: dict[str, JobKind] = {}


def register_kind(name: str, *, label: str, task: str) -> str:
    """Declare a kind of job and its task (from an app's ready()); returns ``name`` for the app's constant."""
    if len(name) > Job._meta.get_field("kind").max_length:
        raise ValueError(f"job kind {name!r} is longer than Job.kind allows")
    known = KINDS.get(name)
    if known is not None and known != JobKind(name, label, task):
        raise ValueError(f"job kind {name!r} is already registered as {known}")
    KINDS[name] = JobKind(name, label, task)
    return name


def kind_label(name: str) -> str:
    known = KINDS.get(name)
    return known.label if known else name.capitalize()


def enqueue_job(job: Job) -> None:
    """Send the job's task once the current transaction commits."""
    task_name = KINDS[job.kind].task

    def _send():
        if not send_task(task_name, args=[job.pk]):
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(message=BROKER_DOWN_MESSAGE)

    transaction.on_commit(_send)


def create_job(*, project: Project, kind: str, user=None, total: int = 0, params: dict | None = None) -> Job:
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}: register it with core.jobs.register_kind first")
    return Job.objects.create(project=project, kind=kind, created_by=user, total=total, params=params or {})


def request_job(*, project: Project, kind: str, user=None, total: int = 0, params: dict | None = None) -> tuple[Job, bool]:
    """Queue a job of ``kind`` unless one is queued or running for the project: (job, created).

    The project row is locked while looking, so two requests at once cannot both queue one.
    """
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        running = active_job(project, kind)
        if running is not None:
            return running, False
        job = create_job(project=project, kind=kind, user=user, total=total, params=params)
        enqueue_job(job)
        return job, True


BROKER_DOWN_MESSAGE = "Waiting for the task queue (broker unavailable); it will start when the queue is back."


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
    for job in Job.objects.filter(state=Job.State.QUEUED, created_at__lt=cutoff, kind__in=list(KINDS)).order_by("id"):
        if send_task(KINDS[job.kind].task, args=[job.pk]):
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
    """End the job as failed with ``error`` (shown to the user: what went wrong and what to do)."""
    fields = {"state": Job.State.FAILED, "finished_at": timezone.now(), "error": error,
              "message": "Failed: see the error below."}
    try:
        Job.objects.filter(pk=job.pk).update(**fields)
    except DatabaseError:
        # The work's own connection may be what broke (server restarted, connection dropped): a new one.
        connection.close()
        Job.objects.filter(pk=job.pk).update(**fields)
    job.state, job.error = Job.State.FAILED, error


def unexpected_error_message(job: Job, exc: BaseException) -> str:
    """What a user can act on when a job stops on an error nobody foresaw."""
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "no details"
    return (f"The {kind_label(job.kind).lower()} job stopped on an unexpected error ({type(exc).__name__}: "
            f"{detail}). Start it again; if it fails the same way, give your administrator job id {job.pk}: "
            "the worker's log has the details.")


def fail_unexpected(job: Job, exc: BaseException) -> None:
    """Log ``exc`` with its traceback and end the job as failed with a message the user can act on."""
    log.error("job %s (%s) failed", job.pk, job.kind, exc_info=exc)
    fail(job, unexpected_error_message(job, exc))


@task_failure.connect(weak=False, dispatch_uid="core.jobs.fail_job_of_failed_task")
def _fail_job_of_failed_task(sender=None, exception=None, args=None, **kwargs) -> None:
    """Any registered job task that raises ends its job as failed, whichever app's task it is."""
    kind = next((k for k in KINDS.values() if k.task == getattr(sender, "name", None)), None)
    if kind is None or not args or exception is None:
        return
    job = Job.objects.filter(pk=args[0], kind=kind.name, state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()
    if job is not None:
        fail_unexpected(job, exception)


def recover_stale_running(*, max_attempts: int | None = None) -> tuple[int, int]:
    """Jobs left RUNNING by a worker that died: send each again (the task resumes it), or, after
    ``max_attempts`` starts, end it as failed. Returns (resent, failed). Run by the beat task.

    A conditional update (the heartbeat seen) fails a job only if no worker has touched it since. The beat
    waits twice the stale time: a worker in a long silent step is not doubled, and a message the broker
    redelivers (after a worker died) usually resumes the job first.
    """
    max_attempts = max_attempts or settings.QUORUM_JOB_MAX_ATTEMPTS
    cutoff = timezone.now() - timedelta(seconds=2 * settings.QUORUM_JOB_STALE_SECONDS)
    resent = failed = 0
    for job in Job.objects.filter(state=Job.State.RUNNING).order_by("id"):
        beat = job.heartbeat_at or job.started_at or job.created_at
        if beat >= cutoff:  # heard of within twice the stale time
            continue
        if job.kind in KINDS and job.attempts < max_attempts:
            if send_task(KINDS[job.kind].task, args=[job.pk]):
                resent += 1
            continue
        why = (f"its worker stopped {job.attempts} time(s) while running it (last heard of at "
               f"{beat:%Y-%m-%d %H:%M:%S} UTC)" if job.kind in KINDS else f"no task runs jobs of kind '{job.kind}'")
        ended = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, heartbeat_at=job.heartbeat_at,
                                   started_at__lt=cutoff).update(
            state=Job.State.FAILED, finished_at=timezone.now(), message="Failed: see the error below.",
            error=(f"Not finished: {why}. Start it again; if it stops again, the worker may be running out of "
                   "memory or time on this data (see the worker's log)."))
        failed += ended
    return resent, failed


def recent_jobs(project: Project, limit: int = 5) -> list[Job]:
    return list(Job.objects.filter(project=project)[:limit])


def active_job(project: Project, kind: str) -> Job | None:
    return Job.objects.filter(project=project, kind=kind, state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()


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
        if job.state == Job.State.RUNNING and not is_stale(job):
            raise JobBusy(f"job {job_id} is running on another worker")
        start(job)
        return job


def claim_or_retry(task, job_id: int, kind: str) -> Job | None:
    """claim_job for a bound task; while another live worker runs the job, Celery tries the message again later."""
    try:
        return claim_job(job_id, kind)
    except JobBusy as exc:
        raise task.retry(exc=exc, countdown=60, max_retries=None) from exc
