"""Requests that break the schema are refused with 400; the statuses the server really sends are documented."""
import io

import pytest
import yaml
from django.urls import reverse

from core.models import Item, Job
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("page_size", ["abc", "0", "-3", "1001", "1.5", "", "²"])
def test_a_page_size_outside_1_to_1000_is_a_400(api_as, people, text_project, page_size):
    response = api_as(people["manager"]).get(reverse("api:items", args=[text_project.pk]), {"page_size": page_size})
    assert response.status_code == 400, response.content
    assert "page_size" in response.json()["error"]["details"]


def test_a_valid_page_size_pages(api_as, people, text_project):
    add_texts(text_project, ["a", "b", "c"])
    body = api_as(people["manager"]).get(reverse("api:items", args=[text_project.pk]), {"page_size": "2"}).json()
    assert len(body["results"]) == 2 and body["next"]


@pytest.mark.parametrize("since", ["yesterday", "2024-06-01", "2024-06-01T00:00:00", "2024-06-01T00:00Z", "",
                                   "2024-13-01T00:00:00Z"])
@pytest.mark.parametrize("name", ["items", "final_labels"])
def test_updated_since_must_be_an_rfc3339_time(api_as, people, text_project, since, name):
    response = api_as(people["manager"]).get(reverse(f"api:{name}", args=[text_project.pk]), {"updated_since": since})
    assert response.status_code == 400, response.content
    assert "updated_since" in response.json()["error"]["details"]


def test_a_valid_updated_since_filters(api_as, people, text_project):
    add_texts(text_project, ["a"], labels=["positive"])
    client = api_as(people["manager"])
    url = reverse("api:final_labels", args=[text_project.pk])
    assert len(client.get(url, {"updated_since": "2000-01-01T00:00:00Z"}).json()["results"]) == 1
    assert client.get(url, {"updated_since": "2999-01-01T00:00:00+02:00"}).json()["results"] == []


@pytest.mark.parametrize("url_name,body,field", [
    ("tokens", {"name": 7}, "name"), ("tokens", {"name": True}, "name"),
    ("projects", {"name": 1, "kind": "text"}, "name"), ("projects", {"name": "P", "kind": "text", "labels": [1, 2]}, "labels"),
    ("members", {"username": 5, "role": "annotator"}, "username"), ("versions", {"name": 3}, "name"),
])
def test_numbers_where_the_schema_wants_strings_are_a_400(api_as, people, text_project, url_name, body, field):
    url = reverse(f"api:{url_name}", args=[] if url_name in ("tokens", "projects") else [text_project.pk])
    response = api_as(people["manager"]).post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize("extra", [{"url": ""}, {"url": "", "queue_given": "true"}])
def test_an_empty_url_next_to_a_file_is_a_400_and_nothing_is_imported(api_as, people, text_project, extra):
    upload = io.BytesIO(b'{"text": "hello"}\n')
    upload.name = "a.jsonl"
    response = api_as(people["manager"]).post(reverse("api:imports", args=[text_project.pk]),
                                              {"file": upload, **extra}, format="multipart")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["error"]["details"]
    assert not Job.objects.filter(project=text_project).exists() and not Item.objects.exists()


def test_an_oversized_body_is_a_413_in_the_error_shape(api_as, people, text_project, settings):
    settings.QUORUM_MAX_UPLOAD_BYTES = 100
    response = api_as(people["manager"]).post(reverse("api:items", args=[text_project.pk]),
                                              [{"text": "x" * 200}], format="json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_the_schema_documents_400_409_413_and_414(api_as, people):
    schema = yaml.safe_load(api_as(people["manager"]).get("/api/schema/").content)
    paths = schema["paths"]
    upload = paths["/api/projects/{project_id}/imports/"]["post"]["responses"]
    assert {"400", "413", "414"} <= set(upload)
    assert "409" in paths["/api/projects/{project_id}/"]["patch"]["responses"]
    assert "409" in paths["/api/projects/{project_id}/versions/"]["post"]["responses"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "414" in operation["responses"], (method, path)
            if any(p["name"] == "cursor" for p in operation.get("parameters", [])):
                assert "400" in operation["responses"], (method, path)
                size = next(p for p in operation["parameters"] if p["name"] == "page_size")
                assert (size["schema"]["minimum"], size["schema"]["maximum"]) == (1, 1000)


@pytest.mark.parametrize("change", [{"auto_accept_spot_check_rate": False}, {"overlap": "2"}, {"overlap": True},
                                    {"consensus_threshold": "0.8"}, {"auto_accept": 1}, {"auto_accept": "true"}])
def test_numbers_and_booleans_must_be_json_numbers_and_booleans(api_as, people, text_project, change):
    response = api_as(people["manager"]).patch(reverse("api:project", args=[text_project.pk]), change, format="json")
    assert response.status_code == 400, response.content
    assert set(change) <= set(response.json()["error"]["details"])


@pytest.mark.parametrize("url_name,params", [("findings", {"dismissed": "null"}), ("findings", {"dismissed": "1"}),
                                             ("export", {"labeled_only": "1"}), ("export", {"exclude_ambiguous": "yes"})])
def test_boolean_query_parameters_are_true_or_false(api_as, people, text_project, url_name, params):
    response = api_as(people["manager"]).get(reverse(f"api:{url_name}", args=[text_project.pk]), params)
    assert response.status_code == 400, response.content


def test_forms_are_refused_where_the_api_takes_json(api_as, people, text_project):
    response = api_as(people["manager"]).post(reverse("api:projects"), {"name": "P", "kind": "text"})  # multipart
    assert response.status_code == 415 and "error" in response.json()


@pytest.mark.parametrize("url_name,param", [("flags", "reason"), ("jobs", "state"), ("items", "status"),
                                            ("items", "min_quality"), ("annotations", "item"), ("findings", "severity")])
def test_a_typed_filter_sent_empty_is_a_400(api_as, people, text_project, url_name, param):
    response = api_as(people["manager"]).get(reverse(f"api:{url_name}", args=[text_project.pk]), {param: ""})
    assert response.status_code == 400, response.content
    assert param in response.json()["error"]["details"]


def test_an_empty_text_filter_still_means_no_filter(api_as, people, text_project):
    add_texts(text_project, ["a"])
    response = api_as(people["manager"]).get(reverse("api:items", args=[text_project.pk]), {"annotator": ""})
    assert response.status_code == 200 and len(response.json()["results"]) == 1
