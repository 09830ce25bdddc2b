"""The foundation's API: token auth, import, export, flags, schema."""
import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken
from core.models import Item

pytestmark = pytest.mark.django_db


def _client(user):
    _, token = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_tokens_are_stored_only_as_a_hash(people):
    row, token = ApiToken.issue(user=people["manager"], name="laptop")
    assert token.startswith("qrm_") and token not in row.digest and len(row.digest) == 64


def test_unauthenticated_and_bad_token_get_401_in_the_error_shape(text_project):
    assert APIClient().get("/api/projects/").status_code in (401, 403)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token qrm_nope")
    response = client.get("/api/projects/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_import_json_array_is_all_or_nothing_with_duplicates_reported(text_project, people):
    client = _client(people["manager"])
    ok = client.post(f"/api/projects/{text_project.pk}/items/",
                     [{"text": "a", "label": "positive"}, {"text": "b", "shop": "x"}, {"text": "a"}], format="json")
    assert ok.status_code == 201
    assert {k: ok.json()[k] for k in ("created", "duplicates", "labels_created")} == \
        {"created": 2, "duplicates": 1, "labels_created": []}
    bad = client.post(f"/api/projects/{text_project.pk}/items/", [{"text": "c"}, {"txt": "d"}], format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["details"] == [{"file": "request body", "line": 2, "reason": "missing the 'text' field"}]
    assert Item.objects.count() == 2


@pytest.mark.postgres  # PostgreSQL's JSON refused it with a 500; SQLite's JSON check too; orjson wrote null
@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_a_number_json_cannot_hold_is_refused_with_its_field_not_stored_as_null(text_project, people, content_type):
    records = [{"text": "ok"}, {"text": "huge", "reading": 1e400}, {"text": "fine", "nested": {"x": [1.5]}}]
    body = ((json.dumps(records) if content_type == "application/json" else "".join(json.dumps(r) + "\n" for r in records))
            .replace("Infinity", "1e400"))
    bad = _client(people["manager"]).post(f"/api/projects/{text_project.pk}/items/", body, content_type=content_type)
    assert bad.status_code == 400, bad.content
    name = "request body" if content_type == "application/json" else "request body.jsonl"
    assert bad.json()["error"]["details"] == [{"file": name, "line": 2, "reason": (
        "the value of 'reading' is NaN or infinite, which JSON cannot store; write null for a missing value, or the "
        "number in quotes")}]
    assert not Item.objects.exists()


def test_annotator_cannot_import_and_outsider_gets_404(text_project, people):
    assert _client(people["alice"]).post(f"/api/projects/{text_project.pk}/items/", [{"text": "x"}],
                                         format="json").status_code == 403
    outsider = _client(people["outsider"])
    for url in ("", "items/", "flags/", "export/"):
        assert outsider.get(f"/api/projects/{text_project.pk}/{url}").status_code == 404, url


def test_export_streams_jsonl_and_csv_rows_with_labels_and_annotations(text_project, people):
    client = _client(people["manager"])
    client.post(f"/api/projects/{text_project.pk}/items/",
                [{"text": "great", "label": "positive", "shop": "A"}, {"text": "meh"}], format="json")
    response = client.get(f"/api/projects/{text_project.pk}/export/?format=jsonl")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [(r["data"], r["final_label"], r["final_source"]) for r in rows] == [
        ("great", "positive", "given"), ("meh", None, None)]
    assert rows[0]["metadata"] == {"shop": "A"} and rows[0]["annotations"] == []
    response = client.get(f"/api/projects/{text_project.pk}/export/?format=csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["final_label"] for r in table] == ["positive", ""]


def test_unknown_export_format_is_a_clear_400(text_project, people):
    response = _client(people["manager"]).get(f"/api/projects/{text_project.pk}/export/?format=xml")
    assert response.status_code == 400 and "use jsonl or csv" in response.json()["error"]["message"]


def test_openapi_schema_is_served(people):
    response = _client(people["manager"]).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert "/api/projects/{project_id}/export/" in paths and "/api/projects/{project_id}/items/" in paths
