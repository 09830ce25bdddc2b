"""Items: filters (only declared ones), bulk import over the API, background imports and jobs."""
import hashlib
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Item, Job
from data.job_kinds import IMPORT
from labeling.queue import next_assignment, submit_annotation
from review.models import Flag
from tests.api.conftest import results
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _texts(response) -> list[str]:
    return [i["text"] for i in results(response)]


@pytest.fixture
def items(text_project):
    add_texts(text_project, ["good", "bad", "meh"], labels=["positive", "negative", None])
    Item.objects.filter(text="good").update(metadata={"time": "night", "shop": "A"})
    Item.objects.filter(text="bad").update(metadata={"time": "day"})
    return text_project


def test_list_items_oldest_first_with_cursor_pages(api_as, people, items):
    client = api_as(people["reviewer"])
    first = client.get(reverse("api:items", args=[items.pk]), {"page_size": 2}).json()
    assert [i["text"] for i in first["results"]] == ["good", "bad"] and first["next"]
    rest = client.get(first["next"]).json()
    assert [i["text"] for i in rest["results"]] == ["meh"] and rest["next"] is None


def test_filter_by_label_source_and_status(api_as, people, items):
    client, url = api_as(people["reviewer"]), reverse("api:items", args=[items.pk])
    assert _texts(client.get(url, {"label": "negative"})) == ["bad"]
    assert _texts(client.get(url, {"source": "given"})) == ["good", "bad"]
    assert _texts(client.get(url, {"status": "unlabeled"})) == ["meh"]
    assert _texts(client.get(url, {"status": "open"})) == ["meh"]


def test_filter_by_metadata_both_spellings(api_as, people, items):
    client, url = api_as(people["reviewer"]), reverse("api:items", args=[items.pk])
    assert _texts(client.get(url, {"meta.time": "night"})) == ["good"]
    assert _texts(client.get(url, {"metadata_key": "time", "metadata_value": "day"})) == ["bad"]
    assert _texts(client.get(url, {"meta.time": "night", "meta.shop": "B"})) == []
    assert client.get(url, {"metadata_key": "time"}).status_code == 400


def test_filter_by_annotator_and_flag_reason(api_as, people, items):
    alice = people["alice"]
    assignment = next_assignment(project=items, annotator=alice)
    submit_annotation(project=items, annotator=alice, assignment_id=assignment.pk,
                      label_id=items.labels.get(name="neutral").pk)
    bad = Item.objects.get(text="bad")
    Flag.objects.create(project=items, item=bad, reason=Flag.Reason.MODEL_DISAGREEMENT, score=0.9, explanation="x")
    client, url = api_as(people["reviewer"]), reverse("api:items", args=[items.pk])
    assert _texts(client.get(url, {"annotator": "alice"})) == ["meh"]
    assert _texts(client.get(url, {"flag_reason": "model"})) == ["bad"]
    assert _texts(client.get(url, {"flag_reason": "gold"})) == []


def test_updated_since_gives_only_changed_items(api_as, people, items):
    old = timezone.now() - timedelta(days=2)
    Item.objects.exclude(text="meh").update(updated_at=old)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert _texts(api_as(people["reviewer"]).get(reverse("api:items", args=[items.pk]), {"updated_since": since})) == ["meh"]


def test_arbitrary_lookups_are_ignored_not_applied(api_as, people, items):
    client, url = api_as(people["reviewer"]), reverse("api:items", args=[items.pk])
    everything = _texts(client.get(url))
    for probe in ({"annotations__annotator__password__startswith": "pbkdf2"},
                  {"project__memberships__user__password__startswith": "x"}, {"text__startswith": "zzz"}):
        assert _texts(client.get(url, probe)) == everything


def test_invalid_filter_value_is_a_400_in_the_error_shape(api_as, people, items):
    response = api_as(people["reviewer"]).get(reverse("api:items", args=[items.pk]), {"status": "sleeping"})
    assert response.status_code == 400 and "status" in response.json()["error"]["details"]


def test_item_detail_and_outsider_404(api_as, people, items):
    item = Item.objects.get(text="good")
    assert api_as(people["reviewer"]).get(reverse("api:item", args=[items.pk, item.pk])).json()["final_label"] == "positive"
    assert api_as(people["outsider"]).get(reverse("api:item", args=[items.pk, item.pk])).status_code == 404
    assert api_as(people["outsider"]).get(reverse("api:items", args=[items.pk])).status_code == 404


def test_bulk_import_json_array_reports_duplicates(api_as, people, items):
    response = api_as(people["manager"]).post(reverse("api:items", args=[items.pk]), [
        {"text": "good"}, {"text": "new one", "label": "neutral", "shop": "C"}, {"text": "new one"}], format="json")
    assert response.status_code == 201
    good, new = Item.objects.get(text="good"), Item.objects.get(text="new one")
    assert response.json() == {"created": 1, "duplicates": 2, "labels_created": [], "labeled": 1,
                               "conflicting_duplicates": 0, "conflicts": [], "skipped": [], "skipped_count": 0,
                               "notes": [], "duplicate_rows": [{"row": "request body, line 1", "item": good.pk},
                                                              {"row": "request body, line 3", "item": new.pk}]}
    assert new.metadata == {"shop": "C"}


def test_bulk_import_csv_upload_is_all_or_nothing(api_as, people, items):
    client, url = api_as(people["manager"]), reverse("api:items", args=[items.pk])
    upload = io.BytesIO(b"text,label\nfine,positive\nhmm,sarcastic\n")
    upload.name = "batch.csv"
    response = client.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_invalid" and error["details"][0]["line"] == 3
    assert not Item.objects.filter(text="fine").exists()
    ok = io.BytesIO(b'{"text": "fine", "label": "positive"}\n{"text": "ok"}\n')
    ok.name = "batch.jsonl"
    assert client.post(url, {"file": ok}, format="multipart").json()["created"] == 2


def test_annotator_cannot_import_and_anonymous_gets_401(api_as, people, items):
    url = reverse("api:items", args=[items.pk])
    assert api_as(people["alice"]).post(url, [{"text": "x"}], format="json").status_code == 403
    assert api_as().post(url, [{"text": "x"}], format="json").status_code == 401
    assert api_as(people["outsider"]).post(url, [{"text": "x"}], format="json").status_code == 404
    assert not Item.objects.filter(text="x").exists()


def test_background_import_returns_a_job_with_progress(api_as, people, text_project,
                                                      django_capture_on_commit_callbacks):
    client = api_as(people["manager"])
    upload = io.BytesIO(b"text\none\ntwo\n")
    upload.name = "more.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api:imports", args=[text_project.pk]), {"file": upload}, format="multipart")
    assert response.status_code == 202
    job = client.get(reverse("api:job", args=[response.json()["id"]])).json()
    assert job["state"] == "succeeded" and job["percent"] == 100 and job["result"]["created"] == 2
    listed = results(client.get(reverse("api:imports", args=[text_project.pk])))
    assert [j["id"] for j in listed] == [job["id"]]
    assert [j["kind"] for j in results(client.get(reverse("api:jobs", args=[text_project.pk]), {"kind": "import"}))] == ["import"]


def test_background_import_refuses_a_wrong_file_type_and_annotators(api_as, people, text_project):
    upload = io.BytesIO(b"x")
    upload.name = "notes.txt"
    response = api_as(people["manager"]).post(reverse("api:imports", args=[text_project.pk]), {"file": upload},
                                              format="multipart")
    assert response.status_code == 400 and "unsupported file type" in response.json()["error"]["message"]
    upload.seek(0)
    upload.name = "a.csv"
    assert api_as(people["alice"]).post(reverse("api:imports", args=[text_project.pk]), {"file": upload},
                                        format="multipart").status_code == 403
    assert not Job.objects.exists()


def test_job_of_another_project_is_404_for_outsider(api_as, people, text_project):
    job = Job.objects.create(project=text_project, kind=IMPORT)
    assert api_as(people["outsider"]).get(reverse("api:job", args=[job.pk])).status_code == 404
    assert api_as(people["outsider"]).get(reverse("api:job", args=[job.pk + 999])).status_code == 404


def test_bulk_import_raw_jsonl_and_csv_bodies(api_as, people, text_project):
    client, url = api_as(people["manager"]), reverse("api:items", args=[text_project.pk])
    body = b'{"text": "one", "label": "positive"}\n{"text": "two", "time": "night"}\n'
    response = client.generic("POST", url, body, content_type="application/x-ndjson")
    assert response.status_code == 201 and response.json()["created"] == 2
    response = client.generic("POST", url, b"text,label\nthree,negative\none,\n", content_type="text/csv")
    assert {k: response.json()[k] for k in ("created", "duplicates", "labels_created")} == \
        {"created": 1, "duplicates": 1, "labels_created": []}
    bad = client.generic("POST", url, b'{"text": "four"}\nnot json\n', content_type="application/x-ndjson")
    assert bad.status_code == 400 and bad.json()["error"]["details"][0] == {
        "file": "request body.jsonl", "line": 2, "column": 1, "reason": "not valid JSON (Expecting value)"}
    assert not Item.objects.filter(text="four").exists()


def test_bulk_import_writes_given_label_events_and_queue_fields(api_as, people, text_project):
    """The PostgreSQL COPY path and the ORM path must write the same rows."""
    rows = [{"text": f"t{n}", **({"label": "negative"} if n % 2 else {}), "n": str(n)} for n in range(50)]
    response = api_as(people["manager"]).post(reverse("api:items", args=[text_project.pk]), rows, format="json")
    assert response.json()["created"] == 50
    labeled = Item.objects.get(text="t1")
    assert (labeled.final_label.name, labeled.final_source, labeled.needed, labeled.metadata) == ("negative", "given", 0, {"n": "1"})
    assert labeled.events.get().reason == "imported from request body, line 2" and labeled.events.get().cause == "import"
    open_item = Item.objects.get(text="t2")
    assert (open_item.final_label, open_item.needed, open_item.image.name, open_item.excluded) == (None, 1, "", False)
    assert 0 <= open_item.rank.priority < 1 and open_item.source_name == "request body:3"
    assert Item.objects.filter(project=text_project, events__isnull=False).count() == 25


def test_bulk_import_answers_with_the_whole_result_conflicting_copies_included(api_as, people, text_project):
    rows = [{"text": "same words", "label": "positive"}, {"text": "same words", "label": "negative"},
            {"text": "same words", "label": "positive"}, {"text": "other words"}]
    response = api_as(people["manager"]).post(reverse("api:items", args=[text_project.pk]), rows, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["duplicates"], body["conflicting_duplicates"]) == (2, 2, 1)
    assert body["conflicts"][0]["labels"] == {"positive": 2, "negative": 1}
    assert body["conflicts"][0]["label"] == "positive" and body["skipped"] == [] and body["notes"] == []


def test_blind_labeling_an_annotator_reads_only_the_items_they_labeled(api_as, people, items):
    alice = people["alice"]
    assignment = next_assignment(project=items, annotator=alice)
    submit_annotation(project=items, annotator=alice, assignment_id=assignment.pk,
                      label_id=items.labels.get(name="neutral").pk)
    client = api_as(alice)
    assert _texts(client.get(reverse("api:items", args=[items.pk]))) == ["meh"]
    rows = results(client.get(reverse("api:final_labels", args=[items.pk])))
    assert [r["label"] for r in rows] == ["neutral"]  # not the given labels of "good" and "bad"
    good = Item.objects.get(text="good")
    assert client.get(reverse("api:item", args=[items.pk, good.pk])).status_code == 404
    # Reviewers and managers still read everything.
    assert sorted(_texts(api_as(people["reviewer"]).get(reverse("api:items", args=[items.pk])))) == ["bad", "good", "meh"]
    assert len(results(api_as(people["manager"]).get(reverse("api:final_labels", args=[items.pk])))) == 3


def test_a_lone_surrogate_in_any_body_is_a_400_naming_the_row_and_nothing_is_written(api_as, people, text_project):
    client, url = api_as(people["manager"]), reverse("api:items", args=[text_project.pk])
    body = b'{"text": "kept out"}\n{"text": "bad \\ud800 here"}\n'
    bad = client.generic("POST", url, body, content_type="application/x-ndjson")
    assert bad.status_code == 400
    detail = bad.json()["error"]["details"][0]
    assert (detail["line"], detail["column"]) == (2, 15) and "surrogate" in detail["reason"]
    as_json = client.generic("POST", url, b'[{"text": "kept out"}, {"text": "x", "note": "\\udfff"}]',
                             content_type="application/json")
    assert as_json.status_code == 400
    detail = as_json.json()["error"]["details"][0]
    assert detail["line"] == 2 and "'note'" in detail["reason"] and "surrogate" in detail["reason"]
    assert not Item.objects.filter(project=text_project, text="kept out").exists()


def test_an_item_shows_its_content_hash_as_the_hex_sha256_of_its_text(api_as, people, items):
    body = api_as(people["reviewer"]).get(reverse("api:items", args=[items.pk])).json()
    assert {i["text"]: i["content_hash"] for i in body["results"]} == {
        t: hashlib.sha256(t.encode()).hexdigest() for t in ("good", "bad", "meh")}
