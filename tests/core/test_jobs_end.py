"""Jobs always end: an exception fails the job with a message the user can act on, and a job whose worker died
is resumed or failed by the beat task, never left running."""
from datetime import timedelta
from pathlib import Path

import pytest
from celery import shared_task
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core import jobs
from core.models import Item, Job
from core.tasks import resend_stale_jobs
from data import imports
from data.imports import start_import
from data.job_kinds import IMPORT

pytestmark = pytest.mark.django_db


def _queued_import(project, user, data=b"text,label\nnice,positive\nugly,\n") -> Job:
    job = start_import(project=project, uploaded=SimpleUploadedFile("new.csv", data), user=user)  # not sent: no commit
    job.refresh_from_db()
    return job


def test_an_unexpected_error_in_an_import_fails_the_job_with_what_to_do(text_project, people, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    def explode(*args, **kwargs):
        raise KeyError("channel")

    monkeypatch.setattr(imports, "_import_file", explode)
    with django_capture_on_commit_callbacks(execute=True):
        job = start_import(project=text_project, uploaded=SimpleUploadedFile("new.csv", b"text\nhello\n"),
                           user=people["manager"])
    job.refresh_from_db()
    assert (job.state, job.message) == ("failed", "Failed: see the error below.")
    assert job.finished_at is not None
    assert job.error == (f"The import job stopped on an unexpected error (KeyError: 'channel'). Start it again; if "
                         f"it fails the same way, give your administrator job id {job.pk}: the worker's log has the details.")
    assert not Path(job.params["path"]).exists()  # the upload does not pile up on disk
    assert not Item.objects.filter(project=text_project).exists()


def test_an_import_whose_upload_is_gone_fails_with_what_to_do(text_project, people):
    job = _queued_import(text_project, people["manager"])
    Path(job.params["path"]).unlink()
    imports.run_import_job(jobs.claim_job(job.pk, IMPORT))
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error.startswith("The uploaded file new.csv is no longer on the server")


@shared_task(name="tests.core.test_jobs_end.boom")
def boom(job_id: int) -> None:
    jobs.claim_job(job_id, "boom")
    raise ZeroDivisionError("float division by zero")


def test_any_registered_job_task_that_raises_ends_its_job_as_failed(text_project, monkeypatch):
    monkeypatch.setitem(jobs.KINDS, "boom", jobs.JobKind("boom", "Boom", "tests.core.test_jobs_end.boom"))
    job = jobs.create_job(project=text_project, kind="boom")
    boom.apply(args=[job.pk])  # as a worker runs it: the exception is the task's failure
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error.startswith("The boom job stopped on an unexpected error (ZeroDivisionError: float division by zero)")


def _stale(job: Job, *, attempts: int) -> Job:
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=long_ago, heartbeat_at=long_ago,
                                         attempts=attempts, message="Writing 2 items")
    job.refresh_from_db()
    return job


def test_the_beat_task_resumes_a_job_whose_worker_died(text_project, people):
    job = _stale(_queued_import(text_project, people["manager"]), attempts=1)
    resend_stale_jobs()  # sends the task again (run here, eagerly): it takes over the stale job
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("succeeded", 2), job.error
    assert Item.objects.filter(project=text_project).count() == 2


def test_the_beat_task_fails_a_job_whose_worker_died_too_often(text_project, people, settings):
    settings.QUORUM_JOB_MAX_ATTEMPTS = 3
    job = _stale(_queued_import(text_project, people["manager"]), attempts=3)
    resend_stale_jobs()
    job.refresh_from_db()
    assert job.state == "failed" and job.finished_at is not None
    assert job.error.startswith("Not finished: its worker stopped 3 time(s) while running it (last heard of at ")
    assert job.error.endswith("Start it again; if it stops again, the worker may be running out of memory or time "
                              "on this data (see the worker's log).")
    assert not Item.objects.filter(project=text_project).exists()


def test_the_beat_task_leaves_a_job_with_a_live_worker_alone(text_project, people):
    job = _queued_import(text_project, people["manager"])
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=timezone.now(),
                                         heartbeat_at=timezone.now(), attempts=3)
    resend_stale_jobs()
    job.refresh_from_db()
    assert job.state == "running" and job.error == ""


def test_the_beat_task_waits_twice_the_stale_time_before_it_acts(text_project, people, settings):
    settings.QUORUM_JOB_STALE_SECONDS = 300
    job = _queued_import(text_project, people["manager"])
    silent = timezone.now() - timedelta(seconds=450)  # stale for claim_job, not yet for the beat
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=silent, heartbeat_at=silent, attempts=3)
    resend_stale_jobs()
    job.refresh_from_db()
    assert job.state == "running"
