"""The health job always ends: succeeded with a summary, or failed with a message the user can act on."""
import pytest
from django.test import TestCase

from core.models import Job
from health.job_kinds import HEALTH
from health.services import request_health
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db


def test_an_error_inside_the_checks_ends_the_job_failed_with_a_reason(text_project, people, monkeypatch):
    add_texts(text_project, ["a perfectly normal review", "another normal review"])

    def broken(project, progress):
        raise ValueError("Input X contains NaN.\nlong details")

    monkeypatch.setattr("health.services.run_checks", broken)
    with pytest.raises(ValueError), TestCase.captureOnCommitCallbacks(execute=True):
        request_health(project=text_project, user=people["manager"])
    job = Job.objects.get(project=text_project, kind=HEALTH)
    assert job.state == Job.State.FAILED and job.finished_at is not None
    assert "ValueError: Input X contains NaN." in job.error and f"job id {job.pk}" in job.error
    assert "Traceback" not in job.error and "long details" not in job.error


def test_a_finished_job_says_how_many_findings(text_project, people):
    add_texts(text_project, ["a perfectly normal review", "ok"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = request_health(project=text_project, user=people["manager"])
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.percent == 100
    assert job.message.startswith("Checked 2 items:") and job.result["findings"] >= 1
