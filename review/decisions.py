"""A reviewer's decisions on a flag (accept, relabel, escalate, ambiguous, exclude), comments, bulk relabels, undo.

Every decision claims the flag with ``_claim`` and closes it with ``_close``, and appends a LabelEvent whose
cause names the flag ("flag:12"), so undo can find it and the item's history shows it.
"""
from django.db import connection, transaction
from django.utils import timezone

from core.models import Item, Label, LabelEvent, LabelSource, Project
from core.services import set_final_label
from labeling.adjudication import escalate_item, revert_escalation, set_item_marks
from learning.models import Prediction
from quorum.lib.errors import Conflict, QuorumError
from review.models import Comment, Flag

ACTIONS = ("accept", "relabel", "escalate", "ambiguous", "exclude")
MAX_BULK = 500


def _claim(*, flag_id: int, version: int) -> Flag:
    """Lock the flag; refuse (Conflict) if someone acted on it since the reviewer saw ``version``."""
    flag = Flag.objects.select_for_update(of=("self",)).select_related("item", "resolved_by").get(pk=flag_id)
    if flag.version != version or flag.status != Flag.Status.OPEN:
        who = f" by {flag.resolved_by.get_username()}" if flag.resolved_by_id else ""
        raise Conflict(f"Another reviewer already acted on this flag{who}; here is its current state.")
    return flag


def _close(flag: Flag, *, reviewer, action: str, resolution: str, label_changed: bool | None) -> Flag:
    flag.status = Flag.Status.RESOLVED
    flag.version += 1
    flag.resolved_by = reviewer
    flag.resolved_at = timezone.now()
    flag.resolution = resolution[:300]
    flag.action = action
    flag.label_changed = label_changed
    flag.save()
    return flag


@transaction.atomic
def resolve_flag(*, flag_id: int, reviewer, version: int, label_id: int | None, note: str = "") -> Flag:
    """Apply a reviewer's decision: keep the label (label_id None or equal) or set another one.

    Refused with Conflict when the flag moved on since the reviewer saw it (optimistic locking).
    """
    flag = _claim(flag_id=flag_id, version=version)
    item = Item.objects.select_for_update().get(pk=flag.item_id)
    label = item.final_label if label_id is None else item.project.labels.filter(pk=label_id).first()
    if label is None:
        raise QuorumError("Choose a label from this project.")
    changed = label.pk != item.final_label_id
    reason = note or ("reviewer changed the label" if changed else "reviewer confirmed the label")
    set_final_label(item=item, label=label, source=LabelSource.REVIEWER, actor=reviewer, reason=reason,
                    cause=f"flag:{flag.pk}", confidence=1.0, always_record=True)
    return _close(flag, reviewer=reviewer, action="relabel" if changed else "accept", label_changed=changed,
                  resolution=f"set to {label.name}" if changed else f"kept {label.name}")


@transaction.atomic
def escalate_flag(*, flag_id: int, reviewer, version: int) -> Flag:
    """Send the flagged item to project.adjudication_k more annotators who have not seen it, blind."""
    flag = _claim(flag_id=flag_id, version=version)
    k = flag.item.project.adjudication_k
    escalate_item(item=flag.item, k=k, actor=reviewer, cause=f"flag:{flag.pk}")
    return _close(flag, reviewer=reviewer, action="escalate", label_changed=None,
                  resolution=f"escalated to {k} more annotators")


@transaction.atomic
def mark_flag(*, flag_id: int, reviewer, version: int, action: str, reason: str) -> Flag:
    """Mark the flagged item ambiguous or exclude it from training, with the reviewer's reason."""
    if action not in ("ambiguous", "exclude"):
        raise QuorumError(f"Unknown action {action!r}: choose ambiguous or exclude.")
    flag = _claim(flag_id=flag_id, version=version)
    item = Item.objects.select_for_update().get(pk=flag.item_id)
    marks = {"ambiguous": True} if action == "ambiguous" else {"excluded": True}
    set_item_marks(item=item, actor=reviewer, reason=reason, cause=f"flag:{flag.pk}", **marks)
    text = "marked ambiguous" if action == "ambiguous" else "excluded from training"
    return _close(flag, reviewer=reviewer, action=action, label_changed=None, resolution=f"{text}: {reason.strip()}")


def add_comment(*, item: Item, author, text: str, flag: Flag | None = None) -> Comment:
    text = text.strip()
    if not text:
        raise QuorumError("A comment cannot be empty.")
    if len(text) > 5000:
        raise QuorumError("A comment can have at most 5000 characters; shorten it.")
    return Comment.objects.create(project_id=item.project_id, item=item, flag=flag, author=author, text=text)


@transaction.atomic
def bulk_relabel(*, project: Project, reviewer, item_ids: list[int], label_id: int | None,
                 reason: str = "") -> list[LabelEvent]:
    """Set one label on several items of the project; each change is its own LabelEvent."""
    label = project.labels.filter(pk=label_id).first() if label_id else None
    if label is None:
        raise QuorumError("Choose the label to give the selected items.")
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        raise QuorumError("Select at least one item to relabel.")
    if len(ids) > MAX_BULK:
        raise QuorumError(f"Relabel at most {MAX_BULK} items at once; select fewer.")
    items = list(Item.objects.select_for_update().filter(project=project, pk__in=ids).order_by("pk"))
    if len(items) != len(ids):
        raise QuorumError("Some selected items are not in this project; reload the page.")
    events = []
    for item in items:
        event = set_final_label(item=item, label=label, source=LabelSource.REVIEWER, actor=reviewer,
                                reason=reason or "bulk relabel from the confusion view", cause="bulk:confusion",
                                confidence=1.0)
        if event is not None:
            events.append(event)
    return events


def last_decision(*, project: Project, reviewer) -> LabelEvent | None:
    """The reviewer's latest decision that can still be undone (not itself an undo, not undone yet)."""
    return (LabelEvent.objects.filter(project=project, actor=reviewer, undoes__isnull=True, undone_by__isnull=True)
            .exclude(cause__in=("", "gold")).exclude(cause__startswith="annotation:")
            .exclude(cause__startswith="consensus:")
            .select_related("item", "from_label").order_by("-created_at", "-id").first())


def _source_before(event: LabelEvent) -> str:
    earlier = (LabelEvent.objects.filter(item_id=event.item_id, id__lt=event.pk).order_by("-id")
               .values_list("source", "to_label_id").first())
    if earlier and earlier[1] == event.from_label_id:
        return earlier[0]
    item = event.item
    return LabelSource.GIVEN if event.from_label_id and event.from_label_id == item.given_label_id else ""


@transaction.atomic
def undo_last(*, project: Project, reviewer) -> tuple[LabelEvent, Flag | None]:
    """Undo the reviewer's last decision: restore the label (a new event that ``undoes`` it) and reopen its flag."""
    event = last_decision(project=project, reviewer=reviewer)
    if event is None:
        raise QuorumError("Nothing to undo: you have no decisions left to take back in this project.")
    item = Item.objects.select_for_update().get(pk=event.item_id)
    flag = None
    if event.cause.startswith("flag:"):
        flag = Flag.objects.select_for_update().filter(pk=int(event.cause.split(":", 1)[1])).first()
        if flag is not None and Flag.objects.filter(item=flag.item_id, reason=flag.reason,
                                                    status=Flag.Status.OPEN).exclude(pk=flag.pk).exists():
            raise QuorumError("This item has been flagged again for the same reason; decide that flag instead.")
        if flag is not None and flag.action == "escalate":
            revert_escalation(item=item, k=item.project.adjudication_k)
        elif flag is not None and flag.action in ("ambiguous", "exclude"):
            field = "ambiguous" if flag.action == "ambiguous" else "excluded"
            Item.objects.filter(pk=item.pk).update(**{field: False})
            setattr(item, field, False)
    undo = set_final_label(item=item, label=event.from_label, source=_source_before(event) or LabelSource.REVIEWER,
                           actor=reviewer, reason=f"undo of: {event.reason}"[:500], cause=event.cause,
                           confidence=None, undoes=event, always_record=True)
    _reopen_settled(item_id=item.pk, since=event.created_at)
    if flag is not None and flag.status != Flag.Status.OPEN:
        flag.status = Flag.Status.OPEN
        flag.version += 1
        flag.resolved_by = None
        flag.resolved_at = None
        flag.resolution = ""
        flag.action = ""
        flag.label_changed = None
        flag.save()
    return undo, flag


def settle_flags(*, item_ids: list[int], label_id: int | None, actor=None, cause: str = "") -> int:
    """The items' final label changed outside the flag being decided: settle or re-score their open flags.

    A person's change answers every open question on the item (the model does not overrule people), and any
    change that gives the label a flag suggested settles that flag. A model-disagreement flag that a system
    change does not settle stays open, re-scored against the new label (1 - the model's probability of it).
    Runs in the caller's transaction (the ``final_label_changed`` receiver). Returns the flags settled.
    """
    own = int(cause.split(":", 1)[1]) if cause.startswith("flag:") and cause[5:].isdigit() else None
    if len(item_ids) == 1 and not _open_flag_ids(item_id=item_ids[0], exclude=own):
        return 0  # the usual case on a submit: nothing open, and the ORM query below cost more to build than to run
    flags = list(Flag.objects.select_for_update(of=("self",)).filter(item_id__in=item_ids, status=Flag.Status.OPEN)
                 .exclude(pk=own).select_related("suggested_label").order_by("pk"))
    if not flags:
        return 0
    label = Label.objects.filter(pk=label_id).first() if label_id else None
    who = actor.get_username() if actor is not None else "the system"
    why = {"bulk:confusion": "bulk relabel from the confusion view"}.get(cause, cause or "a label change")
    settled = 0
    for flag in flags:
        if label is not None and (actor is not None or flag.suggested_label_id == label.pk):
            _close(flag, reviewer=actor, action="settled", label_changed=True,
                   resolution=f"settled: {who} set the label to {label.name} ({why})")
            settled += 1
        elif label is not None and flag.reason == Flag.Reason.MODEL_DISAGREEMENT:
            _rescore(flag, label=label, who=who, why=why)
    return settled


# The one item's open flags, locked, written out: every submit that sets a final label asks this, and the
# answer is nearly always "none".
OPEN_FLAGS_SQL = """
SELECT id FROM review_flag WHERE item_id = %(item)s AND status = 'open' AND id <> %(own)s ORDER BY id {lock}
"""


def _open_flag_ids(*, item_id: int, exclude: int | None) -> list[int]:
    """Ids of the item's open flags (but ``exclude``), locked until the transaction ends (PostgreSQL)."""
    lock = "FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(OPEN_FLAGS_SQL.format(lock=lock), {"item": item_id, "own": -1 if exclude is None else exclude})
        return [row[0] for row in cursor.fetchall()]


def _rescore(flag: Flag, *, label: Label, who: str, why: str) -> None:
    """The model still disagrees with the new label: score the flag by how unlikely the model finds it."""
    prediction = (Prediction.objects.filter(item_id=flag.item_id, model_version_id=flag.model_version_id)
                  .only("probabilities").first()) if flag.model_version_id else None
    if prediction is not None and label.order < len(prediction.probabilities):
        flag.score = round(1.0 - float(prediction.probabilities[label.order]), 4)
    flag.explanation = f"{flag.explanation} · now {label.name} ({who}, {why})"[:2000]
    flag.version += 1
    flag.save(update_fields=["score", "explanation", "version"])


def _reopen_settled(*, item_id: int, since) -> None:
    """Undo restores the flags the undone change settled (and any the undo itself settled)."""
    for flag in Flag.objects.select_for_update(of=("self",)).filter(item_id=item_id, action="settled",
                                                                    resolved_at__gte=since).order_by("pk"):
        if not Flag.objects.filter(item_id=item_id, reason=flag.reason, status=Flag.Status.OPEN).exists():
            flag.status, flag.version, flag.action = Flag.Status.OPEN, flag.version + 1, ""
            flag.resolved_by, flag.resolved_at, flag.resolution, flag.label_changed = None, None, "", None
            flag.save()


def on_final_label_changed(sender, *, project_id, item_ids, label_id, actor=None, cause="", **kwargs):
    if transaction.get_connection().in_atomic_block:  # the sender's transaction (no savepoint on the hot path)
        settle_flags(item_ids=item_ids, label_id=label_id, actor=actor, cause=cause)
        return
    with transaction.atomic():  # a caller in autocommit (scripts, tests): the flag rows still need their lock
        settle_flags(item_ids=item_ids, label_id=label_id, actor=actor, cause=cause)
