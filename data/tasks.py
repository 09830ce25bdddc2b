"""Celery tasks of the data app: thin wrappers that load a Job and call a service."""
from celery import shared_task

from core import jobs
from data.imports import run_import_job
from data.job_kinds import IMPORT


@shared_task(name="data.tasks.import_file", bind=True, acks_late=True, reject_on_worker_lost=True)
def import_file(self, job_id: int) -> None:
    job = jobs.claim_or_retry(self, job_id, IMPORT)
    if job is not None:
        run_import_job(job)
