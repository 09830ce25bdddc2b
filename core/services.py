"""Writes on projects and final labels: every final-label change leaves a LabelEvent in the same transaction."""
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import Annotation, Item, Label, LabelEvent, Membership, Project, Role
from core.signals import annotation_total_shifted, final_label_changed
from ml.active import STRATEGIES
from quorum.lib.errors import QuorumError

# Digits first, then letters not taken by shortcuts (a accept, g guidelines, j/k move, s skip, u/z undo).
KEYS = "1234567890bcdefhilmnopqrtvwxy"


PROJECT_CREATORS = {
    "staff": "Creating projects needs a staff account",
    "managers": "Creating projects needs a staff account or the manager role in a project",
    "everyone": "",
}


def project_creation_refused(user) -> str:
    """Why ``user`` may not create projects under settings.QUORUM_PROJECT_CREATORS ("" when they may)."""
    rule = settings.QUORUM_PROJECT_CREATORS
    if not user.is_authenticated:
        return "Sign in to create a project."
    if rule == "everyone" or user.is_staff or user.is_superuser:
        return ""
    if rule == "managers" and Membership.objects.filter(user=user, role=Role.MANAGER).exists():
        return ""
    return f"{PROJECT_CREATORS[rule]}; ask an administrator or a manager to create it or to invite you."


@transaction.atomic
def project_create(*, name: str, kind: str, labels: list[str], owner, guidelines: str = "", overlap: int = 1,
                   retrain_every: int = 50, query_strategy: str | None = None, adjudication_k: int = 2,
                   consensus_threshold: float = 0.7) -> Project:
    """Create a project with its ordered label set; the owner becomes its manager."""
    name = name.strip()
    if not name:
        raise QuorumError("A project needs a name.")
    if kind not in Project.Kind.values:
        raise QuorumError(f"Unknown kind {kind!r}: choose one of {', '.join(Project.Kind.values)}.")
    if overlap < 1:
        raise QuorumError("Overlap must be at least 1 annotator per item.")
    if query_strategy is not None and query_strategy not in STRATEGIES:
        raise QuorumError(f"Unknown query strategy {query_strategy!r}: choose one of {', '.join(STRATEGIES)}.")
    if adjudication_k < 1:
        raise QuorumError("Adjudication k must be at least 1 extra annotator per disputed item.")
    if not 0.0 <= consensus_threshold <= 1.0:
        raise QuorumError("The consensus threshold is a confidence between 0 and 1 (e.g. 0.7).")
    extra = {"query_strategy": query_strategy} if query_strategy else {}
    project = Project.objects.create(name=name, kind=kind, guidelines=guidelines, overlap=overlap,
                                     retrain_every=retrain_every, adjudication_k=adjudication_k,
                                     consensus_threshold=consensus_threshold, **extra)
    labels_set(project=project, names=labels)
    Membership.objects.create(project=project, user=owner, role=Role.MANAGER)
    return project


def label_spelling(name: str) -> str:
    """What two label names that mean one class share: case folded, runs of spaces as one ("Positive",
    "positive", "POSITIVE", "very  good" and "very good" each make one). A project keeps one name per spelling."""
    return " ".join(name.split()).casefold()


def spelling_clashes(names) -> list[list[str]]:
    """Groups of two or more distinct ``names`` with one ``label_spelling``, in first-seen order."""
    groups: dict[str, list[str]] = {}
    for n in names:
        group = groups.setdefault(label_spelling(n), [])
        if n not in group:
            group.append(n)
    return [g for g in groups.values() if len(g) > 1]


def labels_set(*, project: Project, names: list[str]) -> list[Label]:
    """Append labels (in order) to a project; each gets the next free key.

    Names that differ only in capitals or spaces are refused: they would split one class in two (a hand-typed
    "Positive" next to "positive") and nothing could merge them afterwards without rewriting history.
    """
    cleaned = [n.strip() for n in names if n.strip()]
    existing = list(project.labels.all())
    taken = {lab.name for lab in existing}
    dupes = sorted({n for n in cleaned if cleaned.count(n) > 1} | (set(cleaned) & taken))
    if dupes:
        raise QuorumError(f"Label names must be unique; repeated: {', '.join(dupes)}.")
    # (a project that has such a pair from before this check can still add other labels)
    if clashes := [g for g in spelling_clashes([lab.name for lab in existing] + cleaned) if set(g) & set(cleaned)]:
        pairs = "; ".join(" and ".join(f"'{n}'" for n in g) for g in clashes)
        raise QuorumError(f"Label names must differ by more than capitals or spaces: {pairs} would be two classes. "
                          "Keep one spelling.")
    if len(existing) + len(cleaned) > len(KEYS):
        raise QuorumError(f"A project can have at most {len(KEYS)} labels (one keyboard key each).")
    for bad in cleaned:
        if len(bad) > 100:
            raise QuorumError(f"Label name too long (max 100 characters): {bad[:40]}…")
    start = len(existing)
    new = [Label(project=project, name=n, key=KEYS[start + i], order=start + i) for i, n in enumerate(cleaned)]
    Label.objects.bulk_create(new)
    getattr(project, "_prefetched_objects_cache", {}).pop("labels", None)  # see selectors.project_labels
    return existing + new


def membership_set(*, project: Project, user, role: str) -> Membership:
    if role not in Role.values:
        raise QuorumError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
    # A member removed and added again keeps the annotations they made: a new membership counts them in.
    given = Annotation.objects.filter(project=project, annotator=user, supersedes__isnull=True).count()
    membership, created = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role},
                                                              create_defaults={"role": role, "annotation_count": given})
    if created and given:
        annotation_total_shifted.send(sender=Membership, project_id=project.pk, delta=given)
    return membership


def _changes(item: Item, label: Label | None, source: str) -> bool:
    """Whether giving ``item`` this final label and source changes anything (else no event is written)."""
    return item.final_label_id != (label.pk if label else None) or item.final_source != source


def set_final_label(*, item: Item, label: Label | None, source: str, actor=None, reason: str = "",
                    cause: str = "", confidence: float | None = None, undoes: LabelEvent | None = None,
                    always_record: bool = False, also_save: tuple[str, ...] = ()) -> LabelEvent | None:
    """Change an item's final label and append the event. Call inside the caller's transaction.

    Nothing is recorded when neither the label nor its source changes, unless ``always_record`` (a
    reviewer confirming a label is a decision worth keeping). ``also_save``: other fields of ``item`` the
    caller changed on its locked row, written in the same UPDATE (only when this returns an event).
    When the label itself changes, ``final_label_changed`` is sent in the same transaction.
    """
    if not _changes(item, label, source) and not always_record:
        return None
    relabeled = item.final_label_id != (label.pk if label else None)
    event = LabelEvent(
        project_id=item.project_id, item=item, actor=actor, source=source, from_label_id=item.final_label_id,
        to_label=label, reason=reason, cause=cause, undoes=undoes,
    )
    item.final_label = label
    item.final_source = source if label else ""
    item.final_confidence = confidence
    fields = ["final_label", "final_source", "final_confidence", "updated_at", *also_save]
    if connection.vendor == "postgresql":
        _write_event_and_item(event, item, fields)
    else:
        event.save(force_insert=True)
        item.save(update_fields=fields)
    if relabeled:
        final_label_changed.send(sender=Item, project_id=item.project_id, item_ids=[item.pk],
                                 label_id=label.pk if label else None, actor=actor, cause=cause)
    return event


# PostgreSQL: the event and the item's new final label in one statement (a data-modifying WITH): one round
# trip, and nothing for the ORM to build on every submit.
EVENT_AND_ITEM_SQL = """
WITH event AS (
  INSERT INTO {event_table} ({event_columns}) VALUES ({event_values}) RETURNING id)
UPDATE {item_table} SET {item_sets} WHERE id = %s
RETURNING (SELECT id FROM event)
"""


def _values(obj, names) -> tuple[list[str], list]:
    """Column names and database values of ``obj``'s fields, as the ORM would write them."""
    fields = [obj._meta.get_field(name) for name in names]
    return [f'"{f.column}"' for f in fields], [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]


def _write_event_and_item(event: LabelEvent, item: Item, fields: list[str]) -> None:
    """Insert ``event`` and save ``fields`` of ``item`` (updated_at set to now, as auto_now) together."""
    event.created_at = item.updated_at = timezone.now()
    event_columns, event_values = _values(event, [f.name for f in LabelEvent._meta.concrete_fields if not f.primary_key])
    item_columns, item_values = _values(item, fields)
    sql = EVENT_AND_ITEM_SQL.format(event_table=LabelEvent._meta.db_table, item_table=Item._meta.db_table,
                                    event_columns=", ".join(event_columns),
                                    event_values=", ".join(["%s"] * len(event_values)),
                                    item_sets=", ".join(f"{column} = %s" for column in item_columns))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*event_values, *item_values, item.pk])
        row = cursor.fetchone()
    if row is None:  # as Model.save(update_fields=...) on a row that is gone
        raise DatabaseError("Save with update_fields did not affect any rows.")
    event.pk = row[0]
    event._state.adding, event._state.db = False, connection.alias


def set_final_labels_bulk(*, items: list[Item], labels: list[Label], source: str, reasons: list[str],
                          cause: str = "", confidences: list[float | None] | None = None,
                          batch_size: int = 2000) -> list[LabelEvent]:
    """set_final_label for many items at once: one event per changed item, written in batches.

    Call inside the caller's transaction, on rows it has locked. ``labels``, ``reasons`` and
    ``confidences`` run parallel to ``items``; items whose label and source would not change are left out.
    """
    if not len(items) == len(labels) == len(reasons) or (confidences is not None and len(confidences) != len(items)):
        raise ValueError("items, labels, reasons (and confidences) must have the same length")
    now = timezone.now()
    events, changed = [], []
    relabeled: dict[int | None, list[int]] = {}
    for n, (item, label) in enumerate(zip(items, labels, strict=True)):
        if not _changes(item, label, source):
            continue
        if item.final_label_id != (label.pk if label else None):
            relabeled.setdefault(label.pk if label else None, []).append(item.pk)
        events.append(LabelEvent(project_id=item.project_id, item=item, source=source,
                                 from_label_id=item.final_label_id, to_label=label, reason=reasons[n], cause=cause))
        item.final_label, item.final_source, item.updated_at = label, source, now
        item.final_confidence = confidences[n] if confidences is not None else None
        changed.append(item)
    LabelEvent.objects.bulk_create(events, batch_size=batch_size)
    Item.objects.bulk_update(changed, ["final_label", "final_source", "final_confidence", "updated_at"],
                             batch_size=batch_size)
    for label_id, item_ids in relabeled.items():
        final_label_changed.send(sender=Item, project_id=changed[0].project_id, item_ids=item_ids, label_id=label_id,
                                 actor=None, cause=cause)
    return events
