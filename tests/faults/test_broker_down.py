"""The broker down: annotators keep labeling, every label is saved, the UI says ranking is paused, and the
pending retrain is sent (and runs) once the broker is back."""
import re
import uuid
from datetime import timedelta

import pytest
from celery import Celery
from django.urls import reverse
from django.utils import timezone

from core.jobs import BROKER_DOWN_MESSAGE
from core.models import Annotation, Job
from core.tasks import resend_stale_jobs
from learning.job_kinds import RETRAIN
from learning.models import ModelVersion
from learning.tasks import retrain
from quorum.celery import app
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def broker(monkeypatch):
    """Point the app's sends at a dead broker; ``broker.back()`` points them at the real Redis (db 6)."""
    import redis

    queue = f"quorum-broker-test-{uuid.uuid4().hex[:8]}"
    dead = Celery(broker="redis://127.0.0.1:1/0", broker_connection_timeout=1, broker_connection_retry=False,
                  task_publish_retry=False)
    live = Celery(broker="redis://127.0.0.1:6379/6", task_default_queue=queue)
    app.conf.task_always_eager = False  # the autouse fixture sets it back for the next test
    monkeypatch.setattr(app, "send_task", dead.send_task)
    client = redis.Redis.from_url("redis://127.0.0.1:6379/6", socket_connect_timeout=1)

    class Broker:
        def back(self):
            try:
                client.ping()
            except redis.exceptions.ConnectionError:
                pytest.skip("Redis is not running on 127.0.0.1:6379")
            monkeypatch.setattr(app, "send_task", live.send_task)

        def queued(self) -> int:
            return client.llen(queue)

    yield Broker()
    app.conf.task_always_eager = True
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    dead.close()
    live.close()


def _label_everything(client, project, n):
    response = client.get(reverse("labeling:label", args=[project.pk]), **HX)
    label = str(project.labels.get(name="positive").pk)
    for _ in range(n):
        assignment = re.search(r'name="assignment" value="(\d+)"', response.content.decode()).group(1)
        response = client.post(reverse("labeling:submit", args=[project.pk]),
                               {"assignment": assignment, "label": label}, **HX)
        assert response.status_code == 200 and b"notice bad" not in response.content


def test_labels_are_saved_while_the_broker_is_down_and_the_retrain_runs_when_it_is_back(client, text_project,
                                                                                         people, broker):
    text_project.retrain_every = 4
    text_project.save()
    add_texts(text_project, [f"pleasant review {i}" for i in range(6)] + [f"bad review {i}" for i in range(6)],
              [None] * 6 + ["negative"] * 6)
    client.force_login(people["alice"])

    _label_everything(client, text_project, 6)

    assert Annotation.objects.filter(project=text_project).count() == 6  # nothing lost
    job = Job.objects.get(project=text_project, kind=RETRAIN)
    assert job.state == Job.State.QUEUED and job.message == BROKER_DOWN_MESSAGE
    for url in (reverse("labeling:label", args=[text_project.pk]), reverse("projects:project", args=[text_project.pk])):
        assert b"Ranking is paused" in client.get(url).content

    broker.back()
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert resend_stale_jobs() == 1
    assert broker.queued() == 1  # the message really reached Redis
    retrain.apply(args=[job.pk])  # what the worker does with it
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and ModelVersion.objects.filter(project=text_project).count() == 1
    assert b"Ranking is paused" not in client.get(reverse("labeling:label", args=[text_project.pk])).content


def test_a_recently_queued_retrain_is_not_resent_nor_shown_as_paused(client, text_project, people, broker):
    broker.back()
    Job.objects.create(project=text_project, kind=RETRAIN)
    assert resend_stale_jobs() == 0
    client.force_login(people["alice"])
    assert b"Ranking is paused" not in client.get(reverse("projects:project", args=[text_project.pk])).content
