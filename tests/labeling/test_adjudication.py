"""Escalation, consensus threshold and gold items in the annotation queue."""
import pytest

from core.models import Item, LabelEvent
from labeling import queue
from labeling.adjudication import escalate_item, mark_gold
from labeling.queue import next_assignment, submit_annotation
from review.models import Flag
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _answer(project, user, name):
    lease = next_assignment(project=project, annotator=user)
    assert lease is not None, f"{user} got no item"
    submit_annotation(project=project, annotator=user, assignment_id=lease.pk,
                      label_id=project.labels.get(name=name).pk)
    return lease.item


def test_escalated_item_goes_first_to_annotators_who_have_not_seen_it(text_project, people):
    add_texts(text_project, ["first", "second", "third"])
    item = _answer(text_project, people["alice"], "positive")
    escalate_item(item=item, k=2, actor=people["reviewer"], cause="flag:1")
    assert next_assignment(project=text_project, annotator=people["alice"]).item.pk != item.pk
    assert _answer(text_project, people["bob"], "positive").pk == item.pk
    assert _answer(text_project, people["carol"], "negative").pk == item.pk
    item.refresh_from_db()
    assert item.annotation_count == item.needed == 3


def test_consensus_below_the_threshold_flags_low_consensus_and_sets_no_label(text_project, people):
    text_project.overlap = 3
    text_project.save()  # default consensus_threshold 0.7; 2 of 3 is 0.67
    add_texts(text_project, ["split"])
    for name, label in (("alice", "positive"), ("bob", "negative"), ("carol", "positive")):
        _answer(text_project, people[name], label)
    item = Item.objects.get()
    assert item.final_label is None
    flag = Flag.objects.get(item=item)
    assert flag.reason == "low_consensus" and flag.suggested_label.name == "positive"
    assert flag.score == pytest.approx(1 / 3)


def test_after_an_escalation_a_confident_consensus_sets_the_label_without_a_new_flag(text_project, people):
    text_project.overlap = 2
    text_project.consensus_threshold = 0.6
    text_project.save()
    add_texts(text_project, ["tie"])
    _answer(text_project, people["alice"], "positive")
    item = _answer(text_project, people["bob"], "negative")
    assert Flag.objects.get(item=item).reason == "low_consensus"  # 0.5 < 0.6
    Flag.objects.update(status="resolved")
    escalate_item(item=item, k=1, actor=people["reviewer"], cause="flag:1")
    _answer(text_project, people["carol"], "positive")
    item.refresh_from_db()
    assert item.final_label.name == "positive" and item.final_source == "consensus"
    assert item.final_confidence == pytest.approx(2 / 3)
    assert not Flag.objects.filter(status="open").exists()
    assert LabelEvent.objects.filter(item=item).last().cause == "consensus:majority"


def test_gold_items_are_served_at_the_gold_rate_and_a_wrong_answer_flags(text_project, people, monkeypatch):
    add_texts(text_project, ["normal", "gold one"])
    gold = Item.objects.get(text="gold one")
    mark_gold(item=gold, label=text_project.labels.get(name="negative"), actor=people["manager"])
    text_project.gold_rate = 1.0
    text_project.save()
    served = _answer(text_project, people["alice"], "positive")
    assert served.pk == gold.pk  # gold first at rate 1, and it looked like any item
    gold.refresh_from_db()
    assert gold.final_label.name == "negative" and gold.final_source == "reviewer"  # a gold answer never relabels
    flag = Flag.objects.get(item=gold)
    assert flag.reason == "gold" and "alice answered positive" in flag.explanation
    assert _answer(text_project, people["alice"], "neutral").text == "normal"  # never the same gold twice
    _answer(text_project, people["bob"], "negative")  # bob right on gold: no new flag
    assert Flag.objects.filter(item=gold).count() == 1


def test_no_gold_is_served_at_rate_zero(text_project, people):
    add_texts(text_project, ["gold only"])
    mark_gold(item=Item.objects.get(), label=text_project.labels.first(), actor=people["manager"])
    assert queue.next_assignment(project=text_project, annotator=people["alice"]) is None
