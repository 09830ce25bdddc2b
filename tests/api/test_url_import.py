"""Imports from URLs: off by default with a clear 400; on, private targets are refused before any connection,
and a public file goes through the normal background import (validated, all or nothing)."""
import pytest
from django.urls import reverse

from core.models import Item, Job
from data import urlfetch
from tests.security.test_urlfetch import PUBLIC, FakeNet, FakeResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(monkeypatch):
    """The network as the importer sees it: names resolve from a table, connections get canned responses."""
    fake = FakeNet({"data.example": [PUBLIC], "internal.example": ["10.0.0.5"], "localhost": ["127.0.0.1"]}, {})
    monkeypatch.setattr(urlfetch, "system_resolver", fake.resolve)
    monkeypatch.setattr(urlfetch, "open_pinned", fake.open)
    return fake


@pytest.fixture
def url_import_on(settings):
    settings.QUORUM_ALLOW_URL_IMPORT = True


def _post(client, project, url, **extra):
    return client.post(reverse("api:imports", args=[project.pk]), {"url": url, **extra}, format="json")


def test_url_import_is_off_by_default_with_a_clear_400(api_as, people, text_project, net):
    response = _post(api_as(people["manager"]), text_project, "https://data.example/reviews.jsonl")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "url_not_allowed"
    assert "switched off" in error["message"] and "QUORUM_ALLOW_URL_IMPORT=True" in error["message"]
    assert net.lookups == [] and net.connections == [] and not Job.objects.exists()


@pytest.mark.parametrize("url", ["http://localhost:8000/admin.csv", "http://127.0.0.1/a.csv", "http://[::1]/a.csv",
                                 "http://internal.example/a.csv", "http://169.254.169.254/latest/meta-data.csv"])
def test_private_and_loopback_urls_are_refused_before_any_request(api_as, people, text_project, net, url_import_on,
                                                                  url):
    net.dns.update({"127.0.0.1": ["127.0.0.1"], "::1": ["::1"], "169.254.169.254": ["169.254.169.254"]})
    response = _post(api_as(people["manager"]), text_project, url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_not_allowed"
    assert "only public internet addresses" in response.json()["error"]["message"]
    assert net.connections == [] and not Job.objects.exists()


def test_a_public_url_is_downloaded_and_imported_in_the_background(api_as, people, text_project, net, url_import_on,
                                                                   django_capture_on_commit_callbacks):
    body = b'{"text": "great phone", "label": "positive"}\n{"text": "battery died", "shop": "A"}\n'
    net.responses[(PUBLIC, "/exports/reviews.jsonl?sig=abc")] = FakeResponse(body=body)
    client = api_as(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, text_project, "https://data.example/exports/reviews.jsonl?sig=abc")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.state == Job.State.SUCCEEDED, job.error
    assert {k: job.result[k] for k in ("created", "duplicates", "labels_created")} == \
        {"created": 2, "duplicates": 0, "labels_created": []}
    assert net.connections == [(PUBLIC, "data.example", "/exports/reviews.jsonl?sig=abc")]
    item = Item.objects.get(project=text_project, text="great phone")
    assert item.final_label.name == "positive" and item.source_name == "reviews.jsonl:1"
    assert Item.objects.get(project=text_project, text="battery died").metadata == {"shop": "A"}


def test_the_content_type_names_the_file_type_when_the_path_does_not(api_as, people, text_project, net,
                                                                     url_import_on, django_capture_on_commit_callbacks):
    net.responses[(PUBLIC, "/download")] = FakeResponse(body=b"text,label\nfine,negative\n",
                                                        headers={"Content-Type": "text/csv; charset=utf-8"})
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api_as(people["manager"]), text_project, "https://data.example/download")
    job = Job.objects.get(pk=response.json()["id"])
    assert job.state == Job.State.SUCCEEDED and job.result["created"] == 1


def test_a_redirect_to_a_private_address_fails_the_job_and_writes_nothing(api_as, people, text_project, net,
                                                                          url_import_on,
                                                                          django_capture_on_commit_callbacks):
    net.responses[(PUBLIC, "/a.csv")] = FakeResponse(302, headers={"Location": "http://internal.example/a.csv"})
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api_as(people["manager"]), text_project, "http://data.example/a.csv")
    job = Job.objects.get(pk=response.json()["id"])
    assert job.state == Job.State.FAILED and "10.0.0.5" in job.error
    assert [c[0] for c in net.connections] == [PUBLIC]
    assert not Item.objects.filter(project=text_project).exists()


def test_an_invalid_downloaded_file_fails_like_an_upload(api_as, people, text_project, net, url_import_on, settings,
                                                         django_capture_on_commit_callbacks):
    net.responses[(PUBLIC, "/bad.jsonl")] = FakeResponse(body=b'{"text": "ok"}\nnot json\n')
    net.responses[(PUBLIC, "/big.csv")] = FakeResponse(body=b"text\n" + b"x" * 2000)
    settings.QUORUM_URL_IMPORT_MAX_BYTES = 1000
    client = api_as(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        bad = _post(client, text_project, "http://data.example/bad.jsonl").json()["id"]
        big = _post(client, text_project, "http://data.example/big.csv").json()["id"]
    assert "bad.jsonl, line 2, column 1: not valid JSON" in Job.objects.get(pk=bad).error
    assert "over the 1,000 byte limit" in Job.objects.get(pk=big).error
    assert not Item.objects.filter(project=text_project).exists()


def test_url_and_file_together_or_neither_are_refused(api_as, people, text_project, url_import_on):
    client = api_as(people["manager"])
    neither = client.post(reverse("api:imports", args=[text_project.pk]), {}, format="json")
    assert neither.status_code == 400 and "either a 'file'" in str(neither.json()["error"]["details"])
    assert _post(client, text_project, "ftp://data.example/a.csv").status_code == 400
    assert _post(client, text_project, "https://data.example/a.exe").status_code == 400
    assert not Job.objects.exists()


def test_annotators_and_outsiders_cannot_import_from_urls(api_as, people, text_project, net, url_import_on):
    assert _post(api_as(people["alice"]), text_project, "https://data.example/a.csv").status_code == 403
    assert _post(api_as(people["outsider"]), text_project, "https://data.example/a.csv").status_code == 404
    assert net.lookups == [] and not Job.objects.exists()


def test_the_import_page_takes_a_url_when_switched_on(client, people, text_project, net, settings,
                                                      django_capture_on_commit_callbacks):
    client.force_login(people["manager"])
    page = reverse("data:import", args=[text_project.pk])
    assert 'name="url"' not in client.get(page).content.decode()  # off: no field that could only fail
    settings.QUORUM_ALLOW_URL_IMPORT = True
    assert 'name="url"' in client.get(page).content.decode()
    refused = client.post(page, {"url": "http://localhost/a.csv"})
    assert refused.status_code == 200 and "only public internet addresses" in refused.content.decode()
    net.responses[(PUBLIC, "/a.csv")] = FakeResponse(body=b"text\nhello\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"url": "https://data.example/a.csv"})
    assert response.status_code == 302
    assert Job.objects.get(project=text_project).state == Job.State.SUCCEEDED
    assert Item.objects.filter(project=text_project, text="hello").exists()
