"""Celery tasks of the core app: job plumbing and dashboard counts."""
from celery import shared_task

from core import jobs


@shared_task(name="core.tasks.resend_stale_jobs")
def resend_stale_jobs() -> int:
    """Beat, every minute: jobs queued while the broker was down are sent again once it is back, and jobs
    whose worker died are resumed (sent again) or, after QUORUM_JOB_MAX_ATTEMPTS starts, failed.
    Returns how many queued jobs were sent again."""
    queued = jobs.resend_stale(older_than_seconds=60)
    jobs.recover_stale_running()
    return queued


@shared_task(name="core.tasks.recount_project")
def recount_project(project_id: int) -> None:
    """Recount a big project's dashboard figures (core.stats): sent when a page finds them old."""
    from core.stats import recount

    recount(project_id)
