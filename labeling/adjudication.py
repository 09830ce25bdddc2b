"""Labeling-side writes a reviewer's decision needs: escalation, ambiguous/excluded marks, gold items.

Each one appends a LabelEvent (through set_final_label with always_record) so the item's history is one
timeline, even when the final label itself does not change.
"""
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from core.models import Item, ItemRank, Label, LabelEvent, LabelSource
from core.services import set_final_label
from quorum.lib.errors import QuorumError

ESCALATION_PRIORITY = 2.0  # above every ranking score (those are in [0, 1]): escalated items are served first


def record_note(*, item: Item, actor, reason: str, cause: str = "") -> LabelEvent:
    """Append a history entry that keeps the final label as it is (a decision that is not a relabel)."""
    return set_final_label(item=item, label=item.final_label, source=item.final_source or LabelSource.REVIEWER,
                           actor=actor, reason=reason, cause=cause, confidence=item.final_confidence,
                           always_record=True)


@transaction.atomic
def escalate_item(*, item: Item, k: int, actor, cause: str = "") -> LabelEvent:
    """Ask ``k`` more annotators who have not seen the item for a blind label, ahead of everything else.

    The queue never serves an item twice to one annotator, so the k labels come from new people.
    """
    if k < 1:
        raise QuorumError("Escalation needs at least one more annotator (project setting adjudication_k).")
    item = Item.objects.select_for_update().get(pk=item.pk)
    Item.objects.filter(pk=item.pk).update(needed=F("annotation_count") + k)
    ItemRank.objects.filter(pk=item.pk).update(priority=Greatest(F("priority"), ESCALATION_PRIORITY))
    item.refresh_from_db(fields=["needed"])
    return record_note(item=item, actor=actor, cause=cause,
                       reason=f"escalated: {k} more blind annotation{'s' if k != 1 else ''} requested")


def revert_escalation(*, item: Item, k: int) -> None:
    """Take back an escalation nobody has answered yet; refused once any extra label came in."""
    item = Item.objects.select_for_update().get(pk=item.pk)
    if item.annotation_count > item.needed - k:
        raise QuorumError("Annotators already answered this escalation; it cannot be undone.")
    Item.objects.filter(pk=item.pk).update(needed=item.needed - k)


@transaction.atomic
def set_item_marks(*, item: Item, actor, reason: str, cause: str = "", ambiguous: bool | None = None,
                   excluded: bool | None = None) -> LabelEvent:
    """Mark an item ambiguous and/or excluded from training (or clear a mark), with a reason in the history."""
    reason = reason.strip()
    if not reason:
        raise QuorumError("Say why (a short reason) before marking an item ambiguous or excluded.")
    fields = {}
    if ambiguous is not None:
        fields["ambiguous"] = ambiguous
    if excluded is not None:
        fields["excluded"] = excluded
    Item.objects.filter(pk=item.pk).update(**fields)
    for name, value in fields.items():
        setattr(item, name, value)
    what = ", ".join(f"{'marked' if v else 'unmarked'} {'excluded from training' if n == 'excluded' else n}"
                     for n, v in fields.items())
    return record_note(item=item, actor=actor, cause=cause, reason=f"{what}: {reason}")


@transaction.atomic
def mark_gold(*, item: Item, label: Label, actor) -> LabelEvent | None:
    """A manager gives an item a known answer: it becomes its final label and the queue serves it as gold."""
    if label.project_id != item.project_id:
        raise QuorumError("Choose a gold label from this item's project.")
    item = Item.objects.select_for_update().get(pk=item.pk)
    Item.objects.filter(pk=item.pk).update(is_gold=True, gold_label=label, needed=F("annotation_count"))
    item.is_gold, item.gold_label = True, label
    return set_final_label(item=item, label=label, source=LabelSource.REVIEWER, actor=actor,
                           reason="gold answer set by a manager", cause="gold", confidence=1.0, always_record=True)
