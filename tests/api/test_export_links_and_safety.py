"""Exports: links that open on the host the server runs on, CSV cells that are never formulas, blind labeling."""
import csv
import io
import json

import pytest
import requests
from django.test import Client
from django.urls import reverse

from core.models import Annotation, Item
from core.services import labels_set
from data.datasets import version_create
from data.parse import parse_zip
from data.write import import_rows
from tests.conftest import add_texts, digits_zip


def _body(response) -> str:
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    return b"".join(response.streaming_content).decode()


def _jsonl(response) -> list[dict]:
    return [json.loads(line) for line in _body(response).splitlines()]


@pytest.mark.django_db
def test_links_come_from_the_request_host_and_port(api_as, people, text_project, settings):
    settings.ALLOWED_HOSTS = ["quorum.example"]
    add_texts(text_project, ["hello"])
    url = reverse("api:export", args=[text_project.pk])
    row = _jsonl(api_as(people["manager"]).get(url, HTTP_HOST="quorum.example:8080"))[0]
    assert row["url"] == f"http://quorum.example:8080/items/{row['id']}/"
    settings.SITE_URL = "https://labels.example.org/"  # set explicitly: it wins
    row = _jsonl(api_as(people["manager"]).get(url, HTTP_HOST="quorum.example:8080"))[0]
    assert row["url"] == f"https://labels.example.org/items/{row['id']}/"


@pytest.mark.django_db(transaction=True)
def test_an_image_export_made_over_the_api_opens(live_server, people, image_project, api_as):
    data, _ = digits_zip(3)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    import_rows(project=image_project, rows=rows, errors=errors, name="d.zip")
    token = api_as(people["manager"])._credentials["HTTP_AUTHORIZATION"]
    export = requests.get(f"{live_server.url}/api/projects/{image_project.pk}/export/",
                          headers={"Authorization": token}, timeout=30)
    assert export.status_code == 200, export.text
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert len(rows) == 3
    browser = Client()
    browser.force_login(people["manager"])
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    for row in rows:
        assert row["data"].startswith(live_server.url)  # the live server's random port, not 8000
        image = requests.get(row["data"], cookies=cookies, timeout=30)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
        page = requests.get(row["url"], cookies=cookies, timeout=30)
        assert page.status_code == 200 and page.url.startswith(live_server.url)


FORMULAS = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://evil\")", "@SUM(1+1)", "-2+3", "\tx", "\rx"]


@pytest.mark.django_db
def test_csv_cells_that_start_like_formulas_are_escaped_jsonl_is_untouched(api_as, people, text_project):
    labels_set(project=text_project, names=["=1+1"])
    add_texts(text_project, [*FORMULAS, "plain - text"], labels=["=1+1"] * 6 + ["positive"])
    client = api_as(people["manager"])
    url = reverse("api:export", args=[text_project.pk])
    table = list(csv.DictReader(io.StringIO(_body(client.get(url, {"format": "csv"})), newline="")))
    assert [r["data"] for r in table] == ["'" + f for f in FORMULAS] + ["plain - text"]
    assert [r["final_label"] for r in table] == ["'=1+1"] * 6 + ["positive"]
    assert [r["given_label"] for r in table][0] == "'=1+1"
    rows = _jsonl(client.get(url))
    assert [r["data"] for r in rows] == [*FORMULAS, "plain - text"]
    assert rows[0]["final_label"] == "=1+1"
    version_create(project=text_project, name="v1", user=people["manager"])
    frozen = list(csv.DictReader(io.StringIO(_body(client.get(
        reverse("api:version_export", args=[text_project.pk, "v1"]), {"format": "csv"})), newline="")))
    assert frozen[0]["data"] == "'" + FORMULAS[0] and frozen[0]["final_label"] == "'=1+1"


@pytest.mark.django_db
def test_annotators_export_only_their_own_work(api_as, people, text_project):
    add_texts(text_project, ["one", "two", "three"])
    one, two, three = Item.objects.order_by("id")
    positive, negative = text_project.labels.all()[:2]
    for item, who, label in ((one, "alice", positive), (one, "bob", negative), (two, "bob", negative),
                             (three, "reviewer", positive)):
        Annotation.objects.create(project=text_project, item=item, annotator=people[who], label=label)
    Item.objects.filter(pk=one.pk).update(final_label=negative, final_source="reviewer")
    url = reverse("api:export", args=[text_project.pk])
    rows = _jsonl(api_as(people["alice"]).get(url))
    assert [(r["data"], r["final_label"]) for r in rows] == [("one", "negative")]
    assert [a["annotator"] for a in rows[0]["annotations"]] == ["alice"]
    assert [r["data"] for r in _jsonl(api_as(people["carol"]).get(url))] == []
    everyone = _jsonl(api_as(people["reviewer"]).get(url))
    assert [r["data"] for r in everyone] == ["one", "two", "three"]
    assert sorted(a["annotator"] for a in everyone[0]["annotations"]) == ["alice", "bob"]
    bob_csv = list(csv.DictReader(io.StringIO(_body(api_as(people["bob"]).get(url, {"format": "csv"})))))
    assert [r["data"] for r in bob_csv] == ["one", "two"]
    assert all(a["annotator"] == "bob" for r in bob_csv for a in json.loads(r["annotations"]))
    version_create(project=text_project, name="v1", user=people["manager"])
    frozen = reverse("api:version_export", args=[text_project.pk, "v1"])
    assert api_as(people["alice"]).get(frozen).status_code == 403
    assert api_as(people["reviewer"]).get(frozen).status_code == 200
    diff = reverse("api:version_diff", args=[text_project.pk, "v1", "v1"])
    assert api_as(people["alice"]).get(diff).status_code == 403


@pytest.mark.django_db
def test_exports_and_the_items_api_name_where_each_item_came_from(api_as, people, text_project):
    client = api_as(people["manager"])
    upload = io.BytesIO(b'{"text": "first"}\n{"text": "second", "label": "positive"}\n')
    upload.name = "tickets.jsonl"
    assert client.post(reverse("api:items", args=[text_project.pk]), {"file": upload},
                       format="multipart").status_code == 201
    items = client.get(reverse("api:items", args=[text_project.pk])).json()["results"]
    assert [i["source_name"] for i in items] == ["tickets.jsonl:1", "tickets.jsonl:2"]
    url = reverse("api:export", args=[text_project.pk])
    assert [r["source_name"] for r in _jsonl(client.get(url))] == ["tickets.jsonl:1", "tickets.jsonl:2"]
    table = list(csv.DictReader(io.StringIO(_body(client.get(url, {"format": "csv"})))))
    assert [r["source_name"] for r in table] == ["tickets.jsonl:1", "tickets.jsonl:2"]
    version_create(project=text_project, name="v1")
    frozen = _jsonl(client.get(reverse("api:version_export", args=[text_project.pk, "v1"])))
    assert [r["source_name"] for r in frozen] == ["tickets.jsonl:2"]
