"""Malformed input is a 400 with the API's error shape: forged cursors, bodies nested too deeply."""
import pytest
from django.urls import reverse

from data.datasets import version_create
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db

LISTS = ["projects", "tokens", "members", "items", "flags", "jobs", "imports", "annotations", "final_labels",
         "model_versions", "predictions", "versions", "findings"]
# "p=abc" (not an id), "p=-1", a position beyond a bigint, an offset that is not a number, bad base64 padding
CURSORS = ["cD1hYmM=", "cD0tMQ==", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "bz14JnA9Mw==", "YQ"]


def _url(name, project):
    return reverse(f"api:{name}", args=[] if name in ("projects", "tokens") else [project.pk])


def _is_error(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    return error


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("cursor", CURSORS)
def test_a_forged_cursor_is_a_400_on_every_list(api_as, people, text_project, name, cursor):
    response = api_as(people["manager"]).get(_url(name, text_project) + f"?cursor={cursor}")
    error = _is_error(response)
    assert "cursor" in error["details"]


def test_a_real_cursor_still_pages(api_as, people, text_project):
    add_texts(text_project, ["a", "b", "c"])
    client = api_as(people["manager"])
    first = client.get(reverse("api:items", args=[text_project.pk]), {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    assert [r["text"] for r in first["results"] + second["results"]] == ["a", "b", "c"]


DEEP = "[" * 100_000 + "]" * 100_000
POSTS = [("tokens", "post"), ("projects", "post"), ("project", "patch"), ("members", "post"), ("items", "post"),
         ("imports", "post"), ("predictions", "post"), ("versions", "post")]


@pytest.mark.parametrize("name,method", POSTS)
@pytest.mark.parametrize("body", [DEEP, '{"a": ' * 100 + "1" + "}" * 100])
def test_a_json_body_nested_too_deeply_is_a_400(api_as, people, text_project, name, method, body):
    url = _url(name, text_project) if name not in ("project",) else reverse("api:project", args=[text_project.pk])
    if name in ("projects", "tokens"):
        url = reverse(f"api:{name}")
    response = getattr(api_as(people["manager"]), method)(url, body, content_type="application/json")
    error = _is_error(response)
    assert "nested too deeply" in error["message"]


def test_moderate_nesting_is_still_accepted(api_as, people, text_project):
    metadata = {"a": {"b": {"c": [1, [2, [3]]]}}}
    response = api_as(people["manager"]).post(reverse("api:items", args=[text_project.pk]),
                                              [{"text": "nested", "meta": metadata}], format="json")
    assert response.status_code == 201, response.content


def test_version_diff_of_a_forged_name_is_404_not_500(api_as, people, text_project):
    add_texts(text_project, ["a"], labels=["positive"])
    version_create(project=text_project, name="v1")
    response = api_as(people["manager"]).get(reverse("api:version_diff", args=[text_project.pk, "v1", "v%00"]))
    _is_error(response, 404)
