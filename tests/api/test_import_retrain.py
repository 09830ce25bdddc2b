"""Issue 16.13 over the API: a bulk import that adds given labels queues one retrain after it commits, on each
body kind (JSON array, JSONL body, file upload); one without labels queues none."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import Job

pytestmark = pytest.mark.django_db


def _post(client, project, kind: str, labelled: bool):
    url = reverse("api:items", args=[project.pk])
    rows = [{"text": "refund please", "label": "negative"}, {"text": "love it", "label": "positive"}]
    if not labelled:
        rows = [{"text": row["text"]} for row in rows]
    if kind == "json":
        return client.post(url, rows, format="json")
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    if kind == "jsonl":
        return client.generic("POST", url, body, content_type="application/x-ndjson")
    return client.post(url, {"file": SimpleUploadedFile("t.jsonl", body)}, format="multipart")


@pytest.mark.parametrize("kind", ["json", "jsonl", "file"])
def test_a_labelled_bulk_import_queues_one_retrain_after_commit(api_as, people, text_project, kind,
                                                                django_capture_on_commit_callbacks):
    client = api_as(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, text_project, kind, labelled=True)
    assert response.status_code == 201, response.content
    assert Job.objects.filter(project=text_project, kind="retrain").count() == 1


def test_a_bulk_import_without_labels_queues_no_retrain(api_as, people, text_project,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api_as(people["manager"]), text_project, "json", labelled=False)
    assert response.status_code == 201, response.content
    assert not Job.objects.filter(project=text_project, kind="retrain").exists()
