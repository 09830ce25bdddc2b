"""Broker down (a Redis URL at a closed port): with the production Celery settings a task send gives up at
once, so submitting a label and opening the pages answer within a second, the label is saved and the pages
say ranking is paused."""
import importlib.util
import re
import socket
import time
from pathlib import Path

import pytest
from celery import Celery
from django.urls import reverse

from core.jobs import BROKER_DOWN_MESSAGE, send_task
from core.models import Annotation, Job
from learning.job_kinds import RETRAIN
from quorum.celery import app
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db(transaction=True)
HX = {"HTTP_HX_REQUEST": "true"}
BOUND_SECONDS = 1.0  # the bound; today's settings took ~19 s per send


@pytest.fixture
def closed_port():
    """A port bound but not listening: every connection to it is refused at once, as when Redis is down."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def _production_celery(monkeypatch, broker_url: str) -> Celery:
    """A Celery app configured from quorum/settings.py exactly as production loads it, with this broker."""
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    path = Path(__file__).resolve().parents[2] / "quorum" / "settings.py"
    spec = importlib.util.spec_from_file_location("quorum_settings_broker_down", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    celery = Celery("quorum-broker-down")
    celery.config_from_object(module, namespace="CELERY")
    return celery


@pytest.fixture
def broker_down(monkeypatch, closed_port):
    dead = _production_celery(monkeypatch, f"redis://127.0.0.1:{closed_port}/0")
    assert dead.conf.result_backend.startswith("redis://")  # the redis result backend is configured too
    app.conf.task_always_eager = False  # the autouse fixture sets it back for the next test
    monkeypatch.setattr(app, "send_task", dead.send_task)
    yield dead
    app.conf.task_always_eager = True
    dead.close()


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_send_to_a_dead_broker_returns_false_at_once(broker_down):
    ok, seconds = _timed(lambda: send_task("core.tasks.resend_stale_jobs", args=[]))
    assert ok is False
    assert seconds < BOUND_SECONDS, f"a send to a dead broker took {seconds:.2f} s"


def test_a_label_submit_that_queues_a_retrain_answers_fast_and_the_pages_say_ranking_is_paused(
        client, text_project, people, broker_down):
    text_project.retrain_every = 1
    text_project.save()
    add_texts(text_project, ["good film", "bad film", "fine film"], [None, "negative", "positive"])
    client.force_login(people["alice"])
    page = client.get(reverse("labeling:label", args=[text_project.pk]), **HX).content.decode()
    assignment = re.search(r'name="assignment" value="(\d+)"', page).group(1)
    label = str(text_project.labels.get(name="positive").pk)

    response, seconds = _timed(lambda: client.post(reverse("labeling:submit", args=[text_project.pk]),
                                                   {"assignment": assignment, "label": label}, **HX))
    assert response.status_code == 200 and b"notice bad" not in response.content
    assert seconds < BOUND_SECONDS, f"the label submit took {seconds:.2f} s with the broker down"
    assert Annotation.objects.filter(project=text_project, annotator=people["alice"]).count() == 1
    job = Job.objects.get(project=text_project, kind=RETRAIN)
    assert job.state == Job.State.QUEUED and job.message == BROKER_DOWN_MESSAGE

    for name in ("labeling:label", "projects:project"):
        page, seconds = _timed(lambda name=name: client.get(reverse(name, args=[text_project.pk])))
        assert page.status_code == 200 and b"Ranking is paused" in page.content, name
        assert seconds < BOUND_SECONDS, f"{name} took {seconds:.2f} s with the broker down"
