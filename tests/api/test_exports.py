"""Live exports: JSONL and CSV rows with filters, streamed."""
import json

import pytest
from django.urls import reverse

from core.models import Item
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _rows(client, project, **params):
    response = client.get(reverse("api:export", args=[project.pk]), params)
    assert response.status_code == 200, response.content
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


@pytest.fixture
def mixed(text_project):
    add_texts(text_project, ["a", "b", "c", "d"], labels=["positive", "negative", "positive", None])
    Item.objects.filter(text="a").update(label_quality=0.95)
    Item.objects.filter(text="b").update(label_quality=0.4)
    Item.objects.filter(text="c").update(label_quality=0.9, ambiguous=True)
    return text_project


def test_live_export_rows_carry_label_source_quality_annotations_and_url(api_as, people, mixed):
    rows = _rows(api_as(people["manager"]), mixed)
    assert [r["data"] for r in rows] == ["a", "b", "c", "d"]
    a = rows[0]
    assert (a["final_label"], a["final_source"], a["label_quality"]) == ("positive", "given", 0.95)
    assert a["annotations"] == [] and a["url"].endswith(f"/items/{a['id']}/")


def test_live_export_filters(api_as, people, mixed):
    client = api_as(people["manager"])
    assert [r["data"] for r in _rows(client, mixed, min_quality=0.9)] == ["a", "c"]
    assert [r["data"] for r in _rows(client, mixed, min_quality=0.9, exclude_ambiguous="true")] == ["a"]
    assert [r["data"] for r in _rows(client, mixed, classes="negative")] == ["b"]
    assert [r["data"] for r in _rows(client, mixed, sources="given", labeled_only="true")] == ["a", "b", "c"]


def test_live_export_csv_and_bad_parameters(api_as, people, mixed):
    client = api_as(people["manager"])
    response = client.get(reverse("api:export", args=[mixed.pk]), {"format": "csv"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,data,final_label") and len(lines) == 5
    for params, message in (({"format": "xml"}, "Unknown export format"), ({"format": "coco"}, "image projects"),
                            ({"min_quality": "high"}, "min_quality"), ({"sources": "robot"}, "Unknown source"),
                            ({"exclude_ambiguous": "maybe"}, "true or false")):
        bad = client.get(reverse("api:export", args=[mixed.pk]), params)
        assert bad.status_code == 400 and message in bad.json()["error"]["message"]
    assert api_as(people["outsider"]).get(reverse("api:export", args=[mixed.pk])).status_code == 404
