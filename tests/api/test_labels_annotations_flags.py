"""Annotations, final labels and flags: reviewers see annotations and flags, filters narrow them."""
import pytest
from django.urls import reverse

from labeling.queue import next_assignment, submit_annotation
from review.models import Flag
from tests.api.conftest import results
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def annotated(text_project, people):
    add_texts(text_project, ["one", "two"])
    for user, label in (("alice", "positive"), ("bob", "negative")):
        a = next_assignment(project=text_project, annotator=people[user])
        submit_annotation(project=text_project, annotator=people[user], assignment_id=a.pk,
                          label_id=text_project.labels.get(name=label).pk)
    return text_project


def test_reviewer_lists_annotations_filtered_by_annotator_and_label(api_as, people, annotated):
    client, url = api_as(people["reviewer"]), reverse("api:annotations", args=[annotated.pk])
    assert sorted(a["annotator"] for a in results(client.get(url))) == ["alice", "bob"]
    only = results(client.get(url, {"annotator": "bob"}))
    assert [(a["annotator"], a["label"], a["superseded"]) for a in only] == [("bob", "negative", False)]
    assert results(client.get(url, {"label": "neutral"})) == []


def test_annotator_gets_403_on_annotations_and_flags(api_as, people, annotated):
    client = api_as(people["alice"])
    assert client.get(reverse("api:annotations", args=[annotated.pk])).status_code == 403
    assert client.get(reverse("api:flags", args=[annotated.pk])).status_code == 403


def test_final_labels_list_labeled_items_with_filters(api_as, people, annotated):
    client, url = api_as(people["reviewer"]), reverse("api:final_labels", args=[annotated.pk])
    rows = results(client.get(url))
    assert sorted(r["label"] for r in rows) == ["negative", "positive"]
    assert [r["label"] for r in results(client.get(url, {"label": "negative"}))] == ["negative"]
    assert results(client.get(url, {"source": "reviewer"})) == []


def test_flags_filtered_by_reason_and_status(api_as, people, annotated):
    item = annotated.items.first()
    Flag.objects.create(project=annotated, item=item, reason=Flag.Reason.LOW_CONSENSUS, score=0.4, explanation="low")
    client, url = api_as(people["reviewer"]), reverse("api:flags", args=[annotated.pk])
    assert [f["reason"] for f in results(client.get(url, {"status": "open"}))] == ["low_consensus"]
    assert results(client.get(url, {"reason": "gold"})) == []
    assert api_as(people["outsider"]).get(url).status_code == 404
