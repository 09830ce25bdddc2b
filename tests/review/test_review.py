"""Reviewing flags: the queue order, decisions with history, optimistic locking, access."""
import pytest
from django.urls import reverse

from core.models import Item, LabelEvent
from review.models import Flag
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(text_project):
    add_texts(text_project, ["good phone", "bad phone", "fine"], labels=["positive", "positive", "neutral"])
    items = {i.text: i for i in Item.objects.all()}
    neg = text_project.labels.get(name="negative")
    Flag.objects.create(project=text_project, item=items["bad phone"], reason="model", score=0.9,
                        explanation="given positive; model says negative (0.90)", suggested_label=neg)
    Flag.objects.create(project=text_project, item=items["fine"], reason="model", score=0.4,
                        explanation="given neutral; model says positive (0.60)")
    return items


def test_queue_lists_open_flags_highest_score_first_with_counts(client, text_project, people, flagged):
    client.force_login(people["reviewer"])
    response = client.get(reverse("review:queue", args=[text_project.pk]))
    flags = response.context["flags"]
    assert [f.item.text for f in flags] == ["bad phone", "fine"]
    assert response.context["total"] == 2
    assert "given positive; model says negative (0.90)" in response.content.decode()


def test_resolving_sets_the_final_label_with_history_and_swaps_in_the_next_flag(client, text_project, people, flagged):
    client.force_login(people["reviewer"])
    flag = Flag.objects.get(item=flagged["bad phone"])
    neg = text_project.labels.get(name="negative")
    response = client.post(reverse("review:resolve", args=[text_project.pk, flag.pk]),
                           {"version": flag.version, "label": neg.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["flag"].item.text == "fine"  # next flag swapped in
    item = Item.objects.get(pk=flagged["bad phone"].pk)
    assert item.final_label == neg and item.final_source == "reviewer"
    event = LabelEvent.objects.filter(item=item).last()
    assert (event.from_label.name, event.to_label.name, event.actor, event.cause) == (
        "positive", "negative", people["reviewer"], f"flag:{flag.pk}")
    flag.refresh_from_db()
    assert flag.status == "resolved" and flag.label_changed is True


def test_keeping_the_label_is_recorded_as_a_decision(client, text_project, people, flagged):
    client.force_login(people["reviewer"])
    flag = Flag.objects.get(item=flagged["fine"])
    client.post(reverse("review:resolve", args=[text_project.pk, flag.pk]), {"version": flag.version})
    flag.refresh_from_db()
    assert flag.status == "resolved" and flag.label_changed is False
    last = LabelEvent.objects.filter(item=flagged["fine"]).last()
    assert last.reason == "reviewer confirmed the label" and last.to_label.name == "neutral"


def test_second_reviewer_on_the_same_flag_is_refused_and_sees_the_fresh_state(client, text_project, people, flagged):
    flag = Flag.objects.get(item=flagged["bad phone"])
    seen_version = flag.version
    client.force_login(people["manager"])
    client.post(reverse("review:resolve", args=[text_project.pk, flag.pk]), {"version": seen_version})
    client.force_login(people["reviewer"])
    neg = text_project.labels.get(name="negative")
    response = client.post(reverse("review:resolve", args=[text_project.pk, flag.pk]),
                           {"version": seen_version, "label": neg.pk})
    assert response.status_code == 409
    assert "Another reviewer already acted on this flag by manager" in response.content.decode()
    assert Item.objects.get(pk=flagged["bad phone"].pk).final_label.name == "positive"


def test_annotators_and_outsiders_cannot_review(client, text_project, people, flagged):
    flag = Flag.objects.first()
    client.force_login(people["alice"])
    assert client.get(reverse("review:queue", args=[text_project.pk])).status_code == 403
    client.force_login(people["outsider"])
    assert client.get(reverse("review:queue", args=[text_project.pk])).status_code == 404
    assert client.get(reverse("review:flag", args=[text_project.pk, flag.pk])).status_code == 404
    assert client.post(reverse("review:resolve", args=[text_project.pk, flag.pk]), {"version": 1}).status_code == 404
