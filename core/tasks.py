"""Celery tasks of the core app: job plumbing and dashboard counts."""
from celery import shared_task

from core import jobs


@shared_task(name="core.tasks.resend_stale_jobs")
def resend_stale_jobs() -> int:
    """Beat, every minute: jobs queued while the broker was down are sent again once it is back."""
    return jobs.resend_stale(older_than_seconds=60)


@shared_task(name="core.tasks.recount_project")
def recount_project(project_id: int) -> None:
    """Recount a big project's dashboard figures (core.stats): sent when a page finds them old."""
    from core.stats import recount

    recount(project_id)
