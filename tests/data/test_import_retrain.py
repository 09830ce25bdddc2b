"""An import that adds given labels queues one retrain, after it commits (issue 16, point 13); the item keeps
where it came from (``Item.source_name``)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core import jobs
from core.models import Item, Job
from data.imports import run_import_job, start_import
from data.job_kinds import IMPORT

pytestmark = pytest.mark.django_db


def _import(project, user, data: bytes, capture) -> list:
    """Run an import job; return the on-commit callbacks it left (the retrain request is one of them)."""
    job = start_import(project=project, uploaded=SimpleUploadedFile("tickets.csv", data), user=user)
    with capture() as callbacks:
        run_import_job(jobs.claim_job(job.pk, IMPORT))
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    return callbacks


def retrains(project):
    return Job.objects.filter(project=project, kind="retrain")


def test_a_labelled_import_queues_one_retrain_once_it_has_committed(text_project, people,
                                                                    django_capture_on_commit_callbacks):
    callbacks = _import(text_project, people["manager"], b"text,label\nrefund please,negative\nlove it,positive\n",
                        django_capture_on_commit_callbacks)
    assert not retrains(text_project).exists()  # nothing before the import's transaction commits
    for callback in callbacks:
        callback()
    assert retrains(text_project).count() == 1
    # a second labelled import while that retrain waits does not queue another
    for callback in _import(text_project, people["manager"], b"text,label\nwhere is it,neutral\n",
                            django_capture_on_commit_callbacks):
        callback()
    assert retrains(text_project).count() == 1


def test_an_import_without_labels_queues_no_retrain(text_project, people, django_capture_on_commit_callbacks):
    for callback in _import(text_project, people["manager"], b"text\nrefund please\nlove it\n",
                            django_capture_on_commit_callbacks):
        callback()
    assert not retrains(text_project).exists()


def test_each_item_keeps_its_file_and_row(text_project, people, django_capture_on_commit_callbacks):
    _import(text_project, people["manager"], b"text,label\nrefund please,negative\n\"two\nlines\",\n",
            django_capture_on_commit_callbacks)
    assert sorted(Item.objects.filter(project=text_project).values_list("source_name", flat=True)) == [
        "tickets.csv:2", "tickets.csv:3"]
