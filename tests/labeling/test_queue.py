"""Queue rules: never twice, k distinct annotators, leases, idempotent submits, undo. Runs on SQLite and PostgreSQL."""
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Annotation, Assignment, Item, ItemRank, LabelEvent
from labeling.queue import correct_annotation, last_annotation, next_assignment, skip, submit_annotation
from quorum.lib.errors import NotAllowed
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _label(project, name="positive"):
    return project.labels.get(name=name).pk


def _submit(project, user, assignment, name="positive"):
    return submit_annotation(project=project, annotator=user, assignment_id=assignment.pk, label_id=_label(project, name))


def test_serves_in_priority_order_and_never_the_same_item_twice(text_project, people):
    add_texts(text_project, ["a", "b", "c"])
    for rank, text in enumerate(["c", "a", "b"]):
        ItemRank.objects.filter(item__text=text).update(priority=10 - rank)
    alice = people["alice"]
    served = []
    while (a := next_assignment(project=text_project, annotator=alice)) is not None:
        served.append(a.item.text)
        _submit(text_project, alice, a)
    assert served == ["c", "a", "b"]


def test_a_leased_item_that_needs_one_label_is_not_given_to_a_second_annotator(text_project, people):
    add_texts(text_project, ["only"])
    first = next_assignment(project=text_project, annotator=people["alice"])
    assert first is not None
    assert next_assignment(project=text_project, annotator=people["bob"]) is None


def test_overlap_k_gives_each_item_to_k_distinct_annotators(text_project, people):
    text_project.overlap = 2
    text_project.save()
    add_texts(text_project, ["x", "y"])
    got = {}
    for name in ("alice", "bob", "carol"):
        user = people[name]
        while (a := next_assignment(project=text_project, annotator=user)) is not None:
            got.setdefault(a.item.text, []).append(name)
            _submit(text_project, user, a)
    assert {k: len(set(v)) for k, v in got.items()} == {"x": 2, "y": 2}
    assert all(len(v) == len(set(v)) for v in got.values())
    assert Item.objects.filter(annotation_count=2).count() == 2


def test_same_annotator_in_two_tabs_gets_the_same_lease(text_project, people):
    add_texts(text_project, ["a", "b"])
    tab1 = next_assignment(project=text_project, annotator=people["alice"])
    tab2 = next_assignment(project=text_project, annotator=people["alice"])
    assert tab1.pk == tab2.pk
    assert Assignment.objects.filter(annotator=people["alice"]).count() == 1


def test_an_abandoned_lease_expires_and_the_item_returns_to_the_queue(text_project, people):
    add_texts(text_project, ["lonely"])
    lease = next_assignment(project=text_project, annotator=people["alice"])
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    other = next_assignment(project=text_project, annotator=people["bob"])
    assert other is not None and other.item_id == lease.item_id


def test_a_stale_submit_after_the_lease_expired_is_still_saved(text_project, people):
    add_texts(text_project, ["late"])
    lease = next_assignment(project=text_project, annotator=people["alice"])
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    annotation, created = _submit(text_project, people["alice"], lease, "negative")
    assert created and annotation.label.name == "negative"
    assert Item.objects.get(pk=lease.item_id).final_label.name == "negative"


def test_a_retried_submit_is_stored_once(text_project, people):
    add_texts(text_project, ["twice"])
    lease = next_assignment(project=text_project, annotator=people["alice"])
    first, created1 = _submit(text_project, people["alice"], lease)
    again, created2 = _submit(text_project, people["alice"], lease, "negative")
    assert created1 and not created2 and first.pk == again.pk
    assert Annotation.objects.count() == 1
    assert Item.objects.get().annotation_count == 1


def test_submitting_someone_elses_assignment_is_refused(text_project, people):
    add_texts(text_project, ["mine"])
    lease = next_assignment(project=text_project, annotator=people["alice"])
    with pytest.raises(NotAllowed):
        _submit(text_project, people["bob"], lease)


def test_skip_returns_the_item_to_others_but_not_to_the_skipper(text_project, people):
    add_texts(text_project, ["hard"])
    lease = next_assignment(project=text_project, annotator=people["alice"])
    skip(project=text_project, annotator=people["alice"], assignment_id=lease.pk)
    assert next_assignment(project=text_project, annotator=people["alice"]) is None
    assert next_assignment(project=text_project, annotator=people["bob"]).item_id == lease.item_id


def test_undo_makes_a_new_annotation_that_supersedes_and_records_history(text_project, people):
    add_texts(text_project, ["oops"])
    alice = people["alice"]
    lease = next_assignment(project=text_project, annotator=alice)
    first, _ = _submit(text_project, alice, lease, "positive")
    assert last_annotation(project=text_project, annotator=alice).pk == first.pk
    fix = correct_annotation(project=text_project, annotator=alice, annotation_id=first.pk,
                             label_id=_label(text_project, "negative"))
    first.refresh_from_db()
    assert first.label.name == "positive"  # the original row is untouched
    assert fix.supersedes_id == first.pk
    item = Item.objects.get()
    assert item.final_label.name == "negative" and item.annotation_count == 1
    assert list(LabelEvent.objects.filter(item=item).values_list("to_label__name", flat=True)) == ["positive", "negative"]


def test_annotations_cannot_be_updated_in_place(text_project, people):
    add_texts(text_project, ["fixed"])
    lease = next_assignment(project=text_project, annotator=people["alice"])
    annotation, _ = _submit(text_project, people["alice"], lease)
    annotation.seconds = 99
    with pytest.raises(ValueError, match="immutable"):
        annotation.save()


def test_disagreeing_annotators_get_a_consensus_label_and_a_flag(text_project, people):
    from review.models import Flag

    text_project.overlap = 3
    text_project.consensus_threshold = 0.6  # 2 of 3 reaches it; below the threshold see tests/review
    text_project.save()
    add_texts(text_project, ["split"])
    for name, label in (("alice", "positive"), ("bob", "negative"), ("carol", "positive")):
        _submit(text_project, people[name], next_assignment(project=text_project, annotator=people[name]), label)
    item = Item.objects.get()
    assert item.final_label.name == "positive" and item.final_source == "consensus"
    assert item.final_confidence == pytest.approx(2 / 3)
    flag = Flag.objects.get(item=item)
    assert flag.reason == "annotators" and "2 × positive; 1 × negative" in flag.explanation
