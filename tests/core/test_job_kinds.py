"""The registry of job kinds: every kind an app declares can be run and resent after a broker outage."""
from datetime import timedelta

import pytest
from django.utils import timezone

from core import jobs
from core.models import Job
from health.job_kinds import HEALTH


def test_every_registered_kind_names_a_celery_task_that_exists():
    from quorum.celery import app

    app.loader.import_default_modules()
    assert {"import", "retrain", "rank", "flag", "health"} <= set(jobs.KINDS)
    for kind in jobs.KINDS.values():
        assert kind.task in app.tasks, f"{kind.name}: no task {kind.task}"


def test_a_health_job_queued_while_the_broker_was_down_is_sent_again(text_project, monkeypatch):
    sent = []
    monkeypatch.setattr(jobs, "send_task", lambda name, *, args: sent.append((name, args)) or True)
    job = jobs.create_job(project=text_project, kind=HEALTH)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5),
                                         message=jobs.BROKER_DOWN_MESSAGE)
    assert jobs.resend_stale(older_than_seconds=60) == 1
    assert sent == [("health.tasks.compute_health", [job.pk])]


def test_an_unknown_kind_is_refused_at_creation(text_project):
    with pytest.raises(ValueError, match="unknown job kind"):
        jobs.create_job(project=text_project, kind="typo")


def test_a_kind_cannot_be_registered_twice_with_another_task():
    with pytest.raises(ValueError, match="already registered"):
        jobs.register_kind("health", label="Data health", task="somewhere.else")


def test_the_job_page_names_the_kind_from_the_registry(text_project):
    job = jobs.create_job(project=text_project, kind=HEALTH)
    assert job.kind_label == "Data health"
