"""Escalation: the reviewer presses E; two annotators who never saw the item get it first, blind; consensus decides."""
import pytest
from playwright.sync_api import expect

from core.models import Item, ItemRank
from labeling.queue import next_assignment, submit_annotation
from review.models import Flag
from tests.conftest import add_texts
from tests.e2e.review_support import history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_escalation_puts_the_item_back_into_two_annotators_queues(text_project, people, page_for, live_server):
    text_project.adjudication_k = 2
    text_project.consensus_threshold = 0.6  # 2 of 3 decides; below it the item would go to a reviewer
    text_project.save()
    add_texts(text_project, ["the plot was thin but the acting saved it", "other one", "another one"])
    item = Item.objects.get(text__startswith="the plot")
    ItemRank.objects.filter(pk=item.pk).update(priority=1.0)
    lease = next_assignment(project=text_project, annotator=people["alice"])
    assert lease.item.pk == item.pk
    submit_annotation(project=text_project, annotator=people["alice"], assignment_id=lease.pk,
                      label_id=text_project.labels.get(name="negative").pk)
    flag = Flag.objects.create(project=text_project, item=item, reason=Flag.Reason.MODEL_DISAGREEMENT, score=0.8,
                               explanation="given negative; model says positive",
                               suggested_label=text_project.labels.get(name="positive"))

    reviewer = page_for("reviewer")
    reviewer.goto(f"{live_server.url}/projects/{text_project.pk}/review/flags/{flag.pk}/")
    expect(reviewer.locator("#flag-panel")).to_contain_text("alice")  # reviewers see annotator names
    reviewer.keyboard.press("e")
    reviewer.wait_for_url("**/review/")
    item.refresh_from_db()
    assert (item.needed, ItemRank.objects.get(pk=item.pk).priority) == (3, 2.0)

    for name, key in (("bob", "1"), ("carol", "1")):  # both say positive (key 1)
        annotator = page_for(name)
        annotator.goto(f"{live_server.url}/projects/{text_project.pk}/label/")
        expect(annotator.locator("#item-panel .stage")).to_contain_text("the plot was thin")
        body = annotator.content()
        assert "alice" not in body and "negative" not in body.split('aria-label="Labels"')[0]  # blind
        annotator.keyboard.press(key)
        expect(annotator.locator("#item-panel .stage")).not_to_contain_text("the plot was thin")
    alice = page_for("alice")
    alice.goto(f"{live_server.url}/projects/{text_project.pk}/label/")
    expect(alice.locator("#item-panel .stage")).not_to_contain_text("the plot was thin")  # never twice

    item.refresh_from_db()
    assert item.final_label.name == "positive" and item.final_source == "consensus"
    assert item.final_confidence == pytest.approx(2 / 3)
    assert not Flag.objects.filter(item=item, status="open").exists()
    first = item.annotations.get(annotator=people["alice"])
    assert history(item) == [
        (None, "negative", "annotator", "alice", f"annotation:{first.pk}", False),
        ("negative", "negative", "annotator", "reviewer", f"flag:{flag.pk}", False),
        ("negative", "positive", "consensus", None, "consensus:majority", False),
    ]
