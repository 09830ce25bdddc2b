"""The labeling screen over HTTP: full page, htmx partial swaps, access rules, escaping."""
import json

import pytest
from django.urls import reverse

from core.models import Annotation, Item, ItemRank
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def test_label_page_shows_item_keys_progress_and_guidelines(client, text_project, people):
    add_texts(text_project, ["the screen is lovely"])
    response = _login(client, people["alice"]).get(reverse("labeling:label", args=[text_project.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "the screen is lovely" in body
    assert "<kbd>1</kbd> positive" in body and "<kbd>2</kbd> negative" in body
    assert "0</strong> done" in body and "1</strong> remaining" in body
    assert "<h1>Be kind</h1>" in body  # guidelines rendered from Markdown


def test_htmx_submit_saves_and_swaps_in_the_next_item(client, text_project, people):
    add_texts(text_project, ["first", "second"])
    ItemRank.objects.filter(item__text="first").update(priority=5)
    _login(client, people["alice"])
    page = client.get(reverse("labeling:label", args=[text_project.pk]))
    assignment = page.context["assignment"]
    response = client.post(reverse("labeling:submit", args=[text_project.pk]),
                           {"assignment": assignment.pk, "label": text_project.labels.get(name="negative").pk,
                            "seconds": "2.5"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # a partial, not a full page
    assert "second" in body and "labelSaved" in json.loads(response.headers["HX-Trigger"])
    annotation = Annotation.objects.get()
    assert annotation.label.name == "negative" and annotation.seconds == 2.5
    assert Item.objects.get(text="first").final_label.name == "negative"


def test_undo_reopens_the_last_item_for_relabeling(client, text_project, people):
    add_texts(text_project, ["only one"])
    _login(client, people["alice"])
    page = client.get(reverse("labeling:label", args=[text_project.pk]))
    client.post(reverse("labeling:submit", args=[text_project.pk]),
                {"assignment": page.context["assignment"].pk, "label": text_project.labels.get(name="positive").pk})
    response = client.post(reverse("labeling:undo", args=[text_project.pk]), HTTP_HX_REQUEST="true")
    assert "Relabeling your previous answer" in response.content.decode()
    correcting = response.context["correcting"]
    client.post(reverse("labeling:submit", args=[text_project.pk]),
                {"correcting": correcting.pk, "label": text_project.labels.get(name="neutral").pk})
    assert Item.objects.get().final_label.name == "neutral"
    assert Annotation.objects.count() == 2


def test_outsider_gets_404_on_every_labeling_page(client, text_project, people):
    add_texts(text_project, ["secret"])
    item = Item.objects.get()
    _login(client, people["outsider"])
    for name, args in [("projects:project", [text_project.pk]), ("labeling:label", [text_project.pk]),
                       ("labeling:guidelines", [text_project.pk]), ("data:import", [text_project.pk]),
                       ("projects:item_image", [item.pk])]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert client.post(reverse("labeling:submit", args=[text_project.pk]), {}).status_code == 404


def test_annotator_cannot_import_or_retrain(client, text_project, people):
    _login(client, people["alice"])
    assert client.get(reverse("data:import", args=[text_project.pk])).status_code == 403
    assert client.post(reverse("projects:retrain", args=[text_project.pk])).status_code == 403


def test_script_in_items_labels_and_guidelines_is_escaped(client, people):
    from core.services import project_create

    project = project_create(name="x", kind="text", labels=["<img src=x onerror=alert(1)>"],
                             owner=people["manager"], guidelines="hi <script>alert(2)</script> [a](javascript:alert(3))")
    add_texts(project, ["<script>alert(4)</script>"])
    body = _login(client, people["manager"]).get(reverse("labeling:label", args=[project.pk])).content.decode()
    assert "<script>alert(" not in body
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in body
    assert "<img src=x" not in body and "javascript:alert" not in body


def test_login_required(client, text_project):
    response = client.get(reverse("labeling:label", args=[text_project.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_upload_in_the_browser_imports_through_a_job(client, text_project, people,
                                                     django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _login(client, people["manager"])
    upload = SimpleUploadedFile("new.csv", b"text,label\nnice,positive\nugly,\n", content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("data:import", args=[text_project.pk]), {"file": upload})
    assert response.status_code == 302
    job_page = client.get(response["Location"])
    assert "Imported 2 items; skipped 0 duplicates." in job_page.content.decode()
    assert Item.objects.filter(project=text_project).count() == 2


def test_a_bad_upload_fails_the_job_with_file_and_line_and_writes_nothing(client, text_project, people,
                                                                         django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _login(client, people["manager"])
    upload = SimpleUploadedFile("bad.jsonl", b'{"text": "ok"}\n{"txt": "typo"}\n')
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("data:import", args=[text_project.pk]), {"file": upload})
    body = client.get(response["Location"]).content.decode()
    assert "bad.jsonl, line 2: missing the &#x27;text&#x27; field" in body
    assert Item.objects.count() == 0


def test_key_hints_come_from_the_projects_labels(client, text_project, people):
    add_texts(text_project, ["one item"])
    body = _login(client, people["alice"]).get(reverse("labeling:label", args=[text_project.pk])).content.decode()
    assert '<span id="label-keys"><kbd>1</kbd>–<kbd>3</kbd>' in body  # three labels: 1–3, not 1…0
    assert '<td id="help-label-keys"><kbd>1</kbd>–<kbd>3</kbd>' in body


def test_with_more_than_200_items_left_the_bar_shows_the_projects_counts(client, text_project, people):
    add_texts(text_project, [f"item {i}" for i in range(230)], ["positive"] * 23 + [None] * 207)
    body = _login(client, people["alice"]).get(reverse("labeling:label", args=[text_project.pk])).content.decode()
    assert "more than 200</strong> remaining" in body
    assert 'id="project-progress"' in body and 'aria-valuenow="10"' in body
    assert "Project: 23 of 230 items labeled (10%)" in body
