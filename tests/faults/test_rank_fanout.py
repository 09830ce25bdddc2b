"""A real Celery worker (2 processes, Redis broker and result backend) ranks a retrain as a chord of chunk tasks."""
import io
import signal
import subprocess
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from core import jobs
from core.models import Item, Job
from data.parse import parse_zip
from data.write import import_rows
from learning import ranking
from learning.job_kinds import RETRAIN
from learning.models import ModelVersion, Prediction
from tests.conftest import digits_zip
from tests.faults.workers import redis_client, start_worker, wait_for

REDIS = "redis://127.0.0.1:6379/12"
CHUNK = 50

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.pg_only, pytest.mark.redis, pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker needs the same live PostgreSQL database"),
]


def _worker(queue: str):
    return start_worker(queue, broker=REDIS, name="rank", pool=["--pool=prefork", "--concurrency=2"],
                        env={"CELERY_RESULT_BACKEND": REDIS, "QUORUM_RANK_CHUNK": str(CHUNK),
                             "MEDIA_ROOT": str(django_settings.MEDIA_ROOT)})


def _priorities(project) -> dict[int, float]:
    return dict(Item.objects.filter(project=project).order_by("id").values_list("id", "rank__priority"))


def test_a_real_worker_ranks_in_chunks_exactly_like_the_in_process_ranking(image_project, settings):
    from celery import Celery

    client = redis_client(REDIS)
    data, _ = digits_zip(200, wrong=4)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    for row in rows[:80]:
        row.label = None
    import_rows(project=image_project, rows=rows, errors=errors, name="d.zip")
    job = jobs.create_job(project=image_project, kind=RETRAIN)
    queue = "celery"  # the chord's chunk tasks and its callback go to the default queue of this Redis db
    sender = Celery(broker=REDIS, set_as_current=False)
    worker = None
    try:
        client.flushdb()
        worker = _worker(queue)
        sender.send_task("learning.tasks.retrain", args=[job.pk], queue=queue)
        assert wait_for(lambda: Job.objects.get(pk=job.pk).state in (Job.State.SUCCEEDED, Job.State.FAILED), 120), \
            "the retrain did not finish"
        time.sleep(1)  # a second finish (it must not happen) would land now
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
        client.flushdb()
        sender.close()
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    version = ModelVersion.objects.get(project=image_project)
    settings.QUORUM_RANK_CHUNK = CHUNK
    chunks = ranking.plan(version)
    assert len(chunks) == 4
    assert job.attempts == 1 and job.total == len(chunks) and job.done == len(chunks)
    assert job.result == {"model_version": version.pk, "cv_accuracy": version.cv_accuracy}
    assert Prediction.objects.filter(model_version=version).count() == 200
    by_worker = _priorities(image_project)
    assert sum(p >= 1 for p in by_worker.values()) == 50

    settings.QUORUM_RANK_CHUNK = 100_000  # the same version ranked here, in one piece
    assert len(ranking.plan(version)) == 1
    ranking.rank_inline(version)
    assert _priorities(image_project) == by_worker
