"""The annotation queue: serve the next item under a lease, take submissions, skips and corrections.

Correctness under concurrency (PostgreSQL): a candidate item is locked with FOR UPDATE SKIP LOCKED, then
its capacity is re-checked in a new statement. Anyone who leased it before held the same row lock until
commit, so the re-check sees their lease. On SQLite, transactions are IMMEDIATE and therefore serial.
"""
import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from core.access import raw_instances
from core.models import Annotation, Assignment, Item, ItemRank, Label, LabelSource, Membership, Project
from core.selectors import project_labels
from core.services import set_final_label
from core.signals import annotations_complete, gold_answered
from labeling.consensus import consensus
from labeling.selectors import PROGRESS_COLUMNS, progress_params
from learning.schedule import NOT_READ, RETRAIN_DUE_SQL, maybe_retrain
from quorum.lib.errors import NotAllowed, QuorumError

CANDIDATES = 5  # rows locked per attempt: the query already leaves out full items, so the first one usually fits
_gold_draw = random.Random()  # tests seed or replace it; the annotator cannot predict when gold comes


def lease_seconds() -> int:
    return settings.QUORUM_LEASE_SECONDS


def _has_capacity(item: Item, now, *, exclude_annotator=None) -> bool:
    leases = Assignment.objects.filter(item_id=item.pk, state=Assignment.State.LEASED, expires_at__gt=now)
    if exclude_annotator is not None:
        leases = leases.exclude(annotator=exclude_annotator)
    return item.annotation_count + leases.count() < item.needed


OPEN_LEASE_SQL = """
SELECT (SELECT id FROM labeling_assignment WHERE project_id = %s AND annotator_id = %s AND state = 'leased'
        ORDER BY served_at DESC LIMIT 1) {no_flush}
"""
# The same lookup as a column of the labeling views' membership statement (core.access
# .get_project_and_labels_for_request, whose %(project)s and %(user)s it uses): one round trip less per next
# item. %(given_up)s is the lease the request gives up first (a submit's or a skip's; 0 for none): once the
# request has done so it is no longer open. Read in a statement of its own just before, it is as current as
# the serving transaction's first statement, which locked nothing either.
OPEN_LEASE_COLUMN = """(SELECT id FROM labeling_assignment WHERE project_id = %(project)s AND annotator_id = %(user)s
  AND state = 'leased' AND id <> %(given_up)s ORDER BY served_at DESC LIMIT 1)"""
UNREAD = object()  # next_assignment's open_lease when the caller did not read it
# A serving transaction writes only a lease, which can be lost without harm: its COMMIT need not wait for
# the WAL to reach the disk (the wait was ~1-3 ms of every next item on a shared machine). Set LOCAL, in
# the open-lease query the transaction runs anyway, and only when that transaction is its own: the submit
# before it commits on its own, durably, and a caller's outer transaction keeps its own setting. On a
# database crash a lease of the last few hundred milliseconds may be gone: its item is served again, and
# a submit for it is refused with "reload the page", never stored twice.
NO_FLUSH = ", set_config('synchronous_commit', 'off', true)"


def _current_lease(project: Project, annotator, now, *, own_transaction: bool = False) -> Assignment | None:
    """The annotator's open lease in this project (a second tab gets the same item), renewed if it lapsed."""
    # Usually there is none (after a submit or a skip): a plain indexed lookup, cheaper than building the
    # ORM query below, says so.
    no_flush = NO_FLUSH if own_transaction and connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(OPEN_LEASE_SQL.format(no_flush=no_flush), [project.pk, annotator.pk])
        row = cursor.fetchone()
    if row[0] is None:
        return None
    # The item row is locked in the same statement (PostgreSQL; a no-op on SQLite, whose transactions are
    # serial): a lapsed lease is renewed only if the item still has room, counted under that lock.
    lease = (Assignment.objects.select_related("item__rank").select_for_update(of=("item",))
             .filter(pk=row[0], state=Assignment.State.LEASED).first())
    if lease is None:
        return None
    item = lease.item
    if lease.expires_at > now or (not item.excluded and _has_capacity(item, now, exclude_annotator=annotator)):
        Assignment.objects.filter(pk=lease.pk).update(expires_at=now + timedelta(seconds=lease_seconds()))
        lease.item = item
        return lease
    # Lapsed and the item was taken by others meanwhile: give it up so the annotator moves on.
    Assignment.objects.filter(pk=lease.pk).update(state=Assignment.State.SKIPPED)
    return None


def _locks() -> bool:
    return connection.features.has_select_for_update_skip_locked


# The hottest query of the app, written out so each request does not rebuild it through the ORM (that cost
# more than running it). It walks the partial rank_queue index of the items' rank rows (project, priority
# DESC, item) WHERE is_open, joins each to its item, and stops after LIMIT rows: its cost does not grow
# with the project, only with the few items leased to others at this moment. The item row is what is locked
# and re-checked (is_open mirrors it, kept by triggers in the same transaction as the item's change, and a
# FOR UPDATE that waits re-checks these conditions on the item's newest version). The pre-label comes along
# for the labeling screen's suggestion. bench/serve.py writes its EXPLAIN ANALYZE to
# bench/results/serve_plans.txt at 100,000 and 1,000,000 items.
CANDIDATES_SQL = """
SELECT i.*, r.item_id AS r_item_id, r.project_id AS r_project_id, r.priority AS r_priority,
  r.is_open AS r_is_open, r.predicted_label_id AS r_predicted_label_id,
  r.predicted_confidence AS r_predicted_confidence
FROM labeling_itemrank r JOIN labeling_item i ON i.id = r.item_id
WHERE r.project_id = %(project)s AND r.is_open AND i.annotation_count < i.needed AND NOT i.excluded {exclude}
  AND NOT EXISTS (SELECT 1 FROM labeling_assignment s WHERE s.item_id = i.id AND s.annotator_id = %(annotator)s)
  AND i.needed > i.annotation_count + (
      SELECT COUNT(*) FROM labeling_assignment l
      WHERE l.item_id = i.id AND l.state = 'leased' AND l.expires_at > %(now)s)
ORDER BY r.priority DESC, r.item_id
LIMIT %(limit)s {lock}
"""
WITH_RANK = (("rank", ItemRank, "r_"),)  # raw_instances: the r_ columns load item.rank
# Lease the item only if it still has room, in one statement. As a new statement it sees every lease
# committed before we got the item's row lock (the candidates query's snapshot may predate some of them),
# so the re-count and the insert cost one round trip. No row: full meanwhile, or this annotator already
# holds it (two tabs racing); either way the caller tries the next candidate. The annotator's progress
# counts (labeling.selectors) come back with the new lease: one statement fewer for the screen showing it.
LEASE_SQL = f"""
INSERT INTO labeling_assignment (project_id, item_id, annotator_id, state, served_at, expires_at)
SELECT %(project)s, i.id, %(annotator)s, 'leased', %(now)s, %(expires)s FROM labeling_item i
WHERE i.id = %(item)s AND i.needed > i.annotation_count + (
    SELECT COUNT(*) FROM labeling_assignment l
    WHERE l.item_id = i.id AND l.state = 'leased' AND l.expires_at > %(now)s)
ON CONFLICT (item_id, annotator_id) DO NOTHING
RETURNING id, {PROGRESS_COLUMNS}"""
LEASE_NO_FLUSH_SQL = LEASE_SQL + NO_FLUSH  # set here too: a caller may have read the open lease already


def _candidates(project: Project, annotator, exclude: list[int], now, *, wait: bool = False,
                lock: bool = True) -> list[Item]:
    """Open items with room left, best first, locked (PostgreSQL) so no one else takes them meanwhile.

    ``wait``: lock the best one item, waiting for whoever holds it, instead of skipping locked rows.
    ``lock=False``: only look (one row), from a fresh snapshot.
    """
    lock_clause = ""
    if lock and _locks():
        lock_clause = "FOR UPDATE OF i" if wait else "FOR UPDATE OF i SKIP LOCKED"
    limit = 1 if wait or not lock else CANDIDATES
    params = {"project": project.pk, "annotator": annotator.pk, "now": now, "limit": limit}
    clause = ""
    if exclude:
        names = [f"x{n}" for n in range(len(exclude))]
        params.update(zip(names, exclude, strict=True))
        clause = "AND r.item_id NOT IN (" + ", ".join(f"%({n})s" for n in names) + ")"
    return raw_instances(Item, CANDIDATES_SQL.format(exclude=clause, lock=lock_clause), params, related=WITH_RANK)


def _lease(project: Project, item: Item, annotator, now, *, own_transaction: bool = False) -> Assignment | None:
    """Insert the lease if the locked item still has room; None if it is full or already this annotator's.
    ``own_transaction``: commit it without waiting for the disk (NO_FLUSH), also when the serving transaction
    did not run _current_lease's query, which sets it."""
    expires = now + timedelta(seconds=lease_seconds())
    sql = LEASE_NO_FLUSH_SQL if own_transaction and connection.vendor == "postgresql" else LEASE_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, {
            **progress_params(project, annotator), "item": item.pk, "now": now, "expires": expires})
        row = cursor.fetchone()
    if row is None:
        return None
    assignment = Assignment(pk=row[0], project=project, item=item, annotator=annotator,
                            state=Assignment.State.LEASED, served_at=now, expires_at=expires)
    assignment._state.adding = False
    assignment.progress_counts = tuple(row[1:3])  # for labeling.selectors.annotator_progress
    return assignment


WOULD_WAIT = object()  # next_assignment(wait=False): every open item is locked by others just now


def next_assignment(*, project: Project, annotator, open_lease=UNREAD, wait: bool = True) -> Assignment | None:
    """Lease the next item for ``annotator``: their open lease if any, else the best-ranked open item.

    ``open_lease``: None when the caller has just read (OPEN_LEASE_COLUMN) that the annotator has none, which
    saves looking again; any other value, or none given, and it is looked up here. ``wait=False``: return
    WOULD_WAIT rather than wait for another transaction's row lock (for a caller whose transaction holds
    locks of its own, where waiting could deadlock; it looks again after its COMMIT).
    """
    now = timezone.now()
    own_transaction = not transaction.get_connection().in_atomic_block
    # No savepoint inside a caller's transaction (submit_and_serve's): a savepoint costs two round trips, and
    # an error here ends the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        if open_lease is not None:
            current = _current_lease(project, annotator, now, own_transaction=own_transaction)
            if current is not None:
                return current
        if project.gold_rate > 0 and _gold_draw.random() < project.gold_rate:
            gold = _lease_gold(project, annotator, now)
            if gold is not None:
                return gold
        tried: list[int] = []
        while True:
            batch = _candidates(project, annotator, tried, now)
            if not batch and _locks():
                if not wait:
                    return WOULD_WAIT
                # Every open item may just be locked by other annotators' short serving transactions:
                # "all done" would be wrong, so wait for the best one (holding no other lock, so no deadlock).
                batch = _candidates(project, annotator, tried, now, wait=True)
                if not batch and _candidates(project, annotator, tried, now, lock=False):
                    # The wait re-checks the item row it waited for at its new version but counts leases as
                    # of the statement's start: a submit that just turned a lease into an annotation is
                    # counted twice, and a free slot looks full. A fresh look decides; if it finds room,
                    # try again rather than tell the annotator the queue is empty.
                    continue
            if not batch:
                return None
            for item in batch:
                assignment = _lease(project, item, annotator, now, own_transaction=own_transaction)
                if assignment is not None:
                    return assignment
            tried.extend(i.pk for i in batch)


def _lease_gold(project: Project, annotator, now) -> Assignment | None:
    """Serve a gold item this annotator has not seen; gold items look like any other item to them."""
    seen = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator)
    ids = list(Item.objects.filter(project=project, is_gold=True, excluded=False).filter(~Exists(seen))
               .values_list("pk", flat=True)[:200])
    _gold_draw.shuffle(ids)
    for pk in ids[:CANDIDATES]:
        try:
            with transaction.atomic():
                assignment = Assignment.objects.create(project=project, item_id=pk, annotator=annotator,
                                                       expires_at=now + timedelta(seconds=lease_seconds()))
        except IntegrityError:
            continue
        assignment.item = Item.objects.select_related("rank").get(pk=pk)
        return assignment
    return None


def _check_gold(item: Item, annotation: Annotation) -> None:
    """A gold answer never changes the final label; a wrong one tells review (flag, annotator quality)."""
    gold_answered.send(sender=Item, item=item, annotation=annotation, correct=annotation.label_id == item.gold_label_id)


def _save_fields(item: Item, fields: tuple[str, ...]) -> None:
    if fields:
        Item.objects.filter(pk=item.pk).update(**{name: getattr(item, name) for name in fields})


def _resolve(item: Item, project: Project, *, active: list[Annotation] | None = None,
             unsaved: tuple[str, ...] = ()) -> None:
    """When an item has all its annotations, set its final label (annotator or consensus) and tell review.

    Several annotators: the consensus (labeling.consensus) sets the label only when its confidence reaches
    project.consensus_threshold; below it, review gets the item (a LOW_CONSENSUS flag) and decides.
    ``active`` may be passed when the caller knows the item's current annotations (the first submit of an
    item that needs one label), which saves a query on the hot path. ``unsaved`` names item fields the
    caller changed on its locked row: they are written with the final label (one UPDATE), or on their own
    when the label does not change, always before review hears of the item.
    """
    if item.annotation_count < item.needed:
        _save_fields(item, unsaved)
        return
    if active is None:
        active = list(Annotation.objects.filter(item=item, superseded_by__isnull=True).order_by("created_at", "id"))
    if not active:
        _save_fields(item, unsaved)
        return
    label_ids = [a.label_id for a in active]
    confidence, winner_id, event = None, label_ids[0], None
    prior_source = item.final_source
    if len(active) == 1:
        event = set_final_label(item=item, label=active[0].label, source=LabelSource.ANNOTATOR,
                                actor=active[0].annotator, reason="labelled by annotator",
                                cause=f"annotation:{active[0].pk}", confidence=None, also_save=unsaved)
    else:
        labels = project_labels(project)
        order = {lab.pk: lab.order for lab in labels}
        by_order = {v: k for k, v in order.items()}
        winner, confidence, method = consensus(votes=[order[i] for i in label_ids], n_classes=len(order), item=item)
        winner_id = by_order[winner]
        if confidence >= project.consensus_threshold:
            event = set_final_label(item=item, label=next(lab for lab in labels if lab.pk == winner_id),
                                    source=LabelSource.CONSENSUS,
                                    reason=f"{method} consensus of {len(active)} annotators ({confidence:.0%})",
                                    cause=f"consensus:{method}", confidence=confidence, also_save=unsaved)
    if event is None:  # set_final_label wrote nothing
        _save_fields(item, unsaved)
    annotations_complete.send(sender=Item, item=item, votes=label_ids, disagreement=len(set(label_ids)) > 1,
                              confidence=confidence, winner=winner_id, threshold=project.consensus_threshold,
                              prior_source=prior_source)


def _project_label(project: Project, label_id) -> Label:
    label = next((lab for lab in project_labels(project) if lab.pk == label_id), None)
    if label is None:
        raise QuorumError("That label is not part of this project; reload the page.")
    return label


# The submit's lock, written out (building the ORM's select_related FOR UPDATE cost more than running it):
# the assignment and its item, both locked, in one statement. The item row serialises its annotations.
SUBMIT_LOCK_SQL = """
SELECT i.*, a.id AS a_id, a.project_id AS a_project_id, a.item_id AS a_item_id, a.annotator_id AS a_annotator_id,
  a.state AS a_state, a.served_at AS a_served_at, a.expires_at AS a_expires_at
FROM labeling_assignment a JOIN labeling_item i ON i.id = a.item_id
WHERE a.id = %(assignment)s AND a.project_id = %(project)s AND a.annotator_id = %(annotator)s {lock}
"""
ASSIGNMENT_FIELDS = ["id", "project_id", "item_id", "annotator_id", "state", "served_at", "expires_at"]


def _locked_assignment(project: Project, annotator, assignment_id: int | None) -> Assignment | None:
    """The annotator's assignment in this project with its item, both rows locked (PostgreSQL); else None."""
    if assignment_id is None:
        return None
    lock = "FOR UPDATE OF a, i" if connection.features.has_select_for_update_of else ""
    rows = raw_instances(Item, SUBMIT_LOCK_SQL.format(lock=lock),
                        {"assignment": assignment_id, "project": project.pk, "annotator": annotator.pk})
    item = next(iter(rows), None)
    if item is None:
        return None
    assignment = Assignment.from_db(connection.alias, ASSIGNMENT_FIELDS,
                                    [getattr(item, f"a_{name}") for name in ASSIGNMENT_FIELDS])
    assignment.item, assignment.project, assignment.annotator = item, project, annotator
    return assignment


# PostgreSQL: the submit's lock (SUBMIT_LOCK_SQL), the annotation, its assignment's DONE and the annotator's
# count of annotations (Membership.annotation_count, the labeling screen's "done") in one statement (a
# data-modifying WITH runs to completion whether or not the INSERT reads it): one round trip per submit. The
# retrain check (learning.schedule) rides along: its row is read in the same statement, which cannot see the
# annotation it inserts (hence unseen=1). The assignment and its item are locked first (a WITH ... FOR
# UPDATE, materialized: read once, and under READ COMMITTED it returns the rows' current versions, as the
# statement of its own did); the writes then happen only for an assignment not DONE yet. A retried submit (DONE) gets its rows back and nothing written.
LOCK_AND_RECORD_SQL = f"""
WITH a AS MATERIALIZED ({SUBMIT_LOCK_SQL.format(lock="FOR UPDATE OF a, i")}),
todo AS (SELECT a_id FROM a WHERE a_state <> 'done'),
done AS (UPDATE labeling_assignment SET state = 'done' WHERE id = (SELECT a_id FROM todo)),
counted AS (UPDATE labeling_membership SET annotation_count = annotation_count + 1
  WHERE project_id = %(project)s AND user_id = %(annotator)s AND EXISTS (SELECT 1 FROM todo)),
new AS (
  INSERT INTO labeling_annotation (project_id, item_id, annotator_id, label_id, seconds, assignment_id,
    suggested_label_id, accepted_suggestion, supersedes_id, created_at)
  SELECT %(project)s, a.id, %(annotator)s, %(label)s, %(seconds)s, a.a_id, %(suggested)s, %(accepted)s, NULL,
    %(created)s
  FROM a WHERE a.a_state <> 'done'
  RETURNING id)
SELECT a.*, (SELECT id FROM new) AS new_annotation_id, due.* FROM a
CROSS JOIN LATERAL ({RETRAIN_DUE_SQL}) due (due_state, due_params, due_total)
"""


def _lock_and_record(project: Project, annotator, assignment_id: int | None, label: Label, seconds: float,
                     suggested_label_id: int | None):
    """_locked_assignment, then _record if the assignment is not DONE, in one statement (PostgreSQL).
    Returns (assignment or None, the new annotation or None, the retrain check's row)."""
    if assignment_id is None or not 0 < assignment_id < 2**63:
        return None, None, NOT_READ
    created = timezone.now()
    accepted = _accepts(suggested_label_id, label)
    rows = raw_instances(Item, LOCK_AND_RECORD_SQL, {
        "project": project.pk, "assignment": assignment_id, "annotator": annotator.pk,
        "label": label.pk, "seconds": seconds, "suggested": suggested_label_id, "accepted": accepted,
        "created": created})
    item = next(iter(rows), None)
    if item is None:
        return None, None, NOT_READ
    assignment = Assignment.from_db(connection.alias, ASSIGNMENT_FIELDS,
                                    [getattr(item, f"a_{name}") for name in ASSIGNMENT_FIELDS])
    assignment.item, assignment.project, assignment.annotator = item, project, annotator
    if item.new_annotation_id is None:
        return assignment, None, NOT_READ
    annotation = Annotation(
        pk=item.new_annotation_id, project=project, item=item, annotator=annotator, label=label, seconds=seconds,
        assignment=assignment, suggested_label_id=suggested_label_id, accepted_suggestion=accepted,
        supersedes=None, created_at=created)
    annotation._state.adding, annotation._state.db = False, connection.alias
    return assignment, annotation, (item.due_state, item.due_params, item.due_total)


def _accepts(suggested_label_id: int | None, label: Label) -> bool:
    """Whether the label given is the model's suggestion that was shown with the item."""
    return suggested_label_id is not None and suggested_label_id == label.pk


def _record(annotation: Annotation) -> Annotation:
    """Insert a served item's annotation, mark its assignment done and count it in the annotator's membership,
    through the ORM: the path of databases other than PostgreSQL, whose submit does this in LOCK_AND_RECORD_SQL.
    The retrain check then reads its row itself."""
    annotation.save(force_insert=True)
    Assignment.objects.filter(pk=annotation.assignment_id).update(state=Assignment.State.DONE)
    Membership.objects.filter(project_id=annotation.project_id, user_id=annotation.annotator_id).update(
        annotation_count=F("annotation_count") + 1)
    return annotation


@transaction.atomic
def submit_annotation(*, project: Project, annotator, assignment_id: int, label_id: int, seconds: float = 0.0,
                      suggested_label_id: int | None = None) -> tuple[Annotation, bool]:
    """Store the annotation for a served item once; returns (annotation, created).

    A retried or double-clicked submit for the same assignment returns the stored annotation. A submit
    after the lease expired is still saved: a label a person gave is never dropped.
    """
    return _submit(project=project, annotator=annotator, assignment_id=assignment_id, label_id=label_id,
                   seconds=seconds, suggested_label_id=suggested_label_id)


def submit_and_serve(*, project: Project, annotator, assignment_id: int, label_id: int, seconds: float = 0.0,
                     suggested_label_id: int | None = None, open_lease=UNREAD) -> tuple[Annotation, bool, object]:
    """submit_annotation, then next_assignment (``open_lease`` as there); returns (annotation, created, the
    next assignment or None).

    Both in one transaction when the serving cannot wait for another's row lock while this one holds the
    submitted item's: no other open lease to renew (``open_lease`` None: its item is locked waiting), no gold
    to draw (inserted without SKIP LOCKED), and no waiting when every open item is locked just now (the serving
    then runs again after COMMIT, as it does in the other cases). One BEGIN and one COMMIT instead of two of
    each: two round trips less per submit; the lease is then as durable as the annotation it follows. An
    error while serving takes the annotation back with it: the screen keeps the item, and a second submit
    stores it (its lease is still open).
    """
    together = open_lease is None and project.gold_rate == 0
    with transaction.atomic():
        annotation, created = _submit(project=project, annotator=annotator, assignment_id=assignment_id,
                                      label_id=label_id, seconds=seconds, suggested_label_id=suggested_label_id)
        served = next_assignment(project=project, annotator=annotator, open_lease=None, wait=False) if together \
            else WOULD_WAIT
    if served is WOULD_WAIT:
        served = next_assignment(project=project, annotator=annotator, open_lease=open_lease)
    return annotation, created, served


def _submit(*, project: Project, annotator, assignment_id: int, label_id: int, seconds: float,
            suggested_label_id: int | None) -> tuple[Annotation, bool]:
    """submit_annotation's work, in the caller's transaction."""
    seconds = max(0.0, min(seconds, 86400.0))
    label = next((lab for lab in project_labels(project) if lab.pk == label_id), None)
    if label is not None and connection.vendor == "postgresql":
        assignment, annotation, due = _lock_and_record(project, annotator, assignment_id, label, seconds,
                                                       suggested_label_id)
    else:  # another database, or a label to refuse after the checks below, in their order
        assignment, annotation, due = _locked_assignment(project, annotator, assignment_id), None, NOT_READ
    if assignment is None:
        raise NotAllowed("This item was not served to you; reload the page to get your next item.")
    item = assignment.item
    if annotation is None:  # not written yet: a retry, or not PostgreSQL (``due`` is NOT_READ on both paths)
        if assignment.state == Assignment.State.DONE:  # DONE is set in the same transaction as the annotation
            existing = Annotation.objects.filter(assignment=assignment).first()
            if existing is not None:
                return existing, False
        label = _project_label(project, label_id)
        annotation = _record(Annotation(
            project=project, item=item, annotator=annotator, label=label, seconds=seconds,
            assignment=assignment, suggested_label_id=suggested_label_id,
            accepted_suggestion=_accepts(suggested_label_id, label)))
    # The item row is locked (and SQLite transactions are serial), so its count is current: the new value is
    # written by _resolve together with the final label, one UPDATE instead of two.
    first = item.annotation_count == 0
    item.annotation_count += 1
    if item.is_gold:
        _save_fields(item, ("annotation_count",))
        _check_gold(item, annotation)
        return annotation, True
    _resolve(item, project, active=[annotation] if first else None, unsaved=("annotation_count",))
    maybe_retrain(project=project, due=due, unseen=1)
    return annotation, True


@transaction.atomic
def skip(*, project: Project, annotator, assignment_id: int) -> None:
    """Give the item back; this annotator will not be served it again."""
    Assignment.objects.filter(pk=assignment_id, project=project, annotator=annotator,
                              state=Assignment.State.LEASED).update(state=Assignment.State.SKIPPED)


def last_annotation(*, project: Project, annotator) -> Annotation | None:
    return (Annotation.objects.select_related("item", "label")
            .filter(project=project, annotator=annotator, superseded_by__isnull=True)
            .order_by("-created_at", "-id").first())


@transaction.atomic
def correct_annotation(*, project: Project, annotator, annotation_id: int, label_id: int,
                       seconds: float = 0.0) -> Annotation:
    """Undo then relabel: a new annotation supersedes the annotator's previous one (never an update)."""
    previous = (Annotation.objects.select_for_update().filter(pk=annotation_id, project=project,
                annotator=annotator).first())
    if previous is None:
        raise NotAllowed("You can only correct your own labels.")
    if Annotation.objects.filter(supersedes=previous).exists():
        raise QuorumError("That label was already corrected; reload the page.")
    label = _project_label(project, label_id)
    item = Item.objects.select_for_update().get(pk=previous.item_id)
    correction = Annotation.objects.create(project=project, item=item, annotator=annotator, label=label,
                                           seconds=seconds, supersedes=previous)
    if item.is_gold:
        _check_gold(item, correction)
        return correction
    _resolve(item, project)
    return correction
