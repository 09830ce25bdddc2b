"""A Celery worker SIGKILLed in the middle of a retrain: the job is redelivered, resumes and succeeds once."""
import signal
import uuid
from pathlib import Path

import pytest
from django.db import connection

from core import jobs
from core.models import Job
from learning.job_kinds import RETRAIN
from learning.models import ModelVersion
from tests.conftest import add_texts
from tests.faults.workers import redis_client, start_worker, wait_for

BROKER = "redis://127.0.0.1:6379/6"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.pg_only, pytest.mark.redis, pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker needs the same live PostgreSQL database"),
]


def _worker(queue: str, *, delay: float, media: Path):
    return start_worker(queue, broker=BROKER, name="crash", pool=["--pool=solo"],
                        env={"CELERY_VISIBILITY_TIMEOUT": "3", "QUORUM_JOB_STALE_SECONDS": "2",
                             "QUORUM_TEST_TASK_DELAY": str(delay), "MEDIA_ROOT": str(media)})


def _state(job_id: int) -> str:
    return Job.objects.values_list("state", flat=True).get(pk=job_id)


def test_a_killed_worker_mid_retrain_is_redelivered_and_the_job_succeeds_once(text_project, tmp_path):
    from celery import Celery

    client = redis_client(BROKER)
    texts = [f"great lovely product number {i}" for i in range(15)] + [f"awful broken thing number {i}" for i in range(15)]
    add_texts(text_project, texts, ["positive"] * 15 + ["negative"] * 15)
    job = jobs.create_job(project=text_project, kind=RETRAIN)
    queue = f"quorum-crash-test-{uuid.uuid4().hex[:8]}"
    sender = Celery(broker=BROKER)
    first = second = None
    try:
        first = _worker(queue, delay=30, media=tmp_path)
        sender.send_task("learning.tasks.retrain", args=[job.pk], queue=queue)
        assert wait_for(lambda: _state(job.pk) == Job.State.RUNNING, 30), "the first worker never started the job"
        first.send_signal(signal.SIGKILL)  # in the middle of the task (it sleeps 30 s before training)
        first.wait(timeout=10)
        assert _state(job.pk) == Job.State.RUNNING  # left behind by the dead worker

        second = _worker(queue, delay=0, media=tmp_path)
        assert wait_for(lambda: _state(job.pk) in (Job.State.SUCCEEDED, Job.State.FAILED), 40), \
            "the redelivered job did not finish"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
        client.delete(queue, "celery", f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        sender.close()
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts == 2  # claimed by the killed worker, then resumed once by the second
    versions = list(ModelVersion.objects.filter(project=text_project))
    assert len(versions) == 1
    assert job.result["model_version"] == versions[0].pk
    assert versions[0].params["job"] == job.pk


def test_a_redelivered_message_for_a_job_a_live_worker_runs_is_not_run_twice(text_project, settings):
    from core.jobs import JobBusy, claim_job

    job = jobs.create_job(project=text_project, kind=RETRAIN)
    assert claim_job(job.pk, RETRAIN) is not None
    with pytest.raises(JobBusy):  # heartbeat is fresh: another worker has it
        claim_job(job.pk, RETRAIN)
    settings.QUORUM_JOB_STALE_SECONDS = 0
    resumed = claim_job(job.pk, RETRAIN)  # silent worker: taken to be dead, the job resumes
    assert resumed is not None and resumed.attempts == 2
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    assert claim_job(job.pk, RETRAIN) is None  # finished: a late duplicate does nothing
