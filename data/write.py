"""Write: put validated rows into the project in one transaction, all or nothing, and count what was written.

The last stage of an import. Each entry point has validate.py check the rows before it writes any; a large
text file goes through in batches, each read (parse.py), de-duplicated (validate.py) and then written.
On PostgreSQL text rows go in with COPY (copy_insert.py); elsewhere, and for images, with bulk_create.
"""
import gc
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from core.models import Item, LabelEvent, Project
from core.models.item import item_upload_to
from core.signals import given_labels_conflict
from data import copy_insert, validate
from data.parse import Row, UnreadableFile, iter_text_file
from quorum.lib.errors import ImportErrors, ImportRowError

BATCH = 2000
MAX_LISTED = validate.MAX_LISTED
MAJORITY_CAUSE = "import:majority"  # a final label moved to the majority of its copies' given labels


@dataclass
class ImportResult:
    created: int
    duplicates: int
    labels_created: list[str]
    labeled: int = 0  # items that have a new given label: new labeled items, and items their copies relabeled
    conflicting_duplicates: int = 0  # items whose copies arrived with two or more different given labels
    conflicts: list[dict] = field(default_factory=list)  # {"item", "labels": {name: copies}, "label"}
    duplicate_rows: list[dict] = field(default_factory=list)  # {"row", "item"}: rows that were copies, and of what
    skipped: list[dict] = field(default_factory=list)  # {"file", "reason"}: unreadable files left out
    skipped_count: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "duplicates": self.duplicates, "labels_created": self.labels_created,
                "labeled": self.labeled, "conflicting_duplicates": self.conflicting_duplicates,
                "conflicts": self.conflicts, "duplicate_rows": self.duplicate_rows, "skipped": self.skipped,
                "skipped_count": self.skipped_count, "notes": self.notes}

    def summary(self, project_name: str = "") -> str:
        """One line for the job's message (and the import command's last line)."""
        into = f" into '{project_name}'" if project_name else ""
        parts = [f"Imported {self.created:,} items{into}", f"skipped {self.duplicates:,} duplicates"]
        if self.skipped_count:
            parts.append(f"skipped {self.skipped_count:,} unreadable files")
        if self.conflicting_duplicates:
            n = self.conflicting_duplicates
            parts.append(f"flagged {n:,} item{'' if n == 1 else 's'} for review (exact copies with different labels)")
        return "; ".join(parts) + "."


def split_skippable(errors: list[ImportRowError], *, strict: bool) -> tuple[list[ImportRowError], list[ImportRowError]]:
    """(problems that refuse the upload, unreadable files a lenient import leaves out).

    Only files that cannot be read are ever left out, and only when nothing else is wrong: a strict import,
    or any other problem, refuses the upload and lists them all.
    """
    if strict or not all(isinstance(e, UnreadableFile) for e in errors):
        return errors, []
    return [], errors


def import_rows(*, project: Project, rows: list[Row], errors: list[ImportRowError], name: str,
                queue_given: bool = False, on_progress: Callable[[int, int], None] | None = None,
                strict: bool = False, notes: list[str] | None = None) -> ImportResult:
    """Write parsed rows in one transaction once they are valid; any problem means nothing is written.

    Items with a given label become labeled (source ``given``) and skip the queue unless ``queue_given``.
    Duplicates (same content hash, in the upload or already in the project) become no new item, but their
    given labels join the item's history (``record_copies``). Unreadable image files are left out and listed,
    unless ``strict``.
    """
    errors, skipped = split_skippable(errors, strict=strict)
    if skipped and not rows:
        raise ImportErrors(skipped)  # nothing readable at all
    if errors:  # with the rows' label problems, so that no problem hides another
        raise ImportErrors(validate.by_line(errors + validate.label_problems(validate.project_labels(project), rows, name)))
    validate.check_parsed(rows, errors, name)
    validate.check_kind(project, rows, name)
    copies: list[Row] = []
    with transaction.atomic():
        labels, created_labels = validate.resolve_labels(project, rows, name)
        unique, duplicates = validate.dedupe(project, rows, copies)
        if copy_insert.available(unique):  # PostgreSQL and text: COPY, 10x faster than bulk_create
            copy_insert.copy_items(project=project, rows=unique, labels=labels, queue_given=queue_given, name=name,
                                   on_progress=on_progress)
        else:
            _bulk_create(project, unique, labels, queue_given, name, on_progress)
        result = ImportResult(created=len(unique), duplicates=duplicates, labels_created=created_labels,
                              labeled=sum(r.label is not None for r in unique), notes=list(notes or []))
        record_copies(project=project, labels=labels, copies=copies, name=name, queue_given=queue_given,
                      result=result)
    result.skipped = [{"file": e.file, "reason": e.reason} for e in skipped[:MAX_LISTED]]
    result.skipped_count = len(skipped)
    return result


# ---- copies of items: every given label is kept, the majority decides, a conflict is flagged ------------------


def record_copies(*, project: Project, labels: dict, copies: list[Row], name: str, queue_given: bool,
                  result: ImportResult) -> None:
    """List the first MAX_LISTED copies with the item each is a copy of (``result.duplicate_rows``), add each
    labeled copy's given label to its item's history, settle given labels by majority, and flag items whose
    copies disagree (``given_labels_conflict``); inside the caller's transaction.

    A copy already in the history (same item, label and origin: the same file uploaded again) is not new
    evidence: it adds no event, and an item that gains nothing is neither counted nor flagged again.
    """
    if not copies:
        return
    items = _items_by_hash(project, {c.content_hash for c in copies})
    votes, known = _given_labels(list(items.values()))
    new_events, touched = [], set()
    for c in copies:
        item = items.get(c.content_hash)
        if item is None:
            continue
        if len(result.duplicate_rows) < MAX_LISTED:
            result.duplicate_rows.append({"row": c.origin(name), "item": item.pk})
        if c.label is None:
            continue
        key = (item.pk, labels[c.label].pk, f"imported from {c.origin(name)}")
        if key in known:
            continue
        known.add(key)
        votes[item.pk][key[1]] += 1
        touched.add(item.pk)
        new_events.append(LabelEvent(project=project, item_id=item.pk, source="given", to_label_id=key[1],
                                     reason=key[2], cause="import"))
    LabelEvent.objects.bulk_create(new_events, batch_size=BATCH)
    by_id = {it.pk: it for it in items.values()}
    names = {lab.pk: lab.name for lab in labels.values()}
    conflicting = []
    for item_id in sorted(touched):
        item, counts = by_id[item_id], votes[item_id]
        if _settle(project, item, counts, queue_given, names):
            result.labeled += 1
        if len(counts) > 1:
            conflicting.append(item_id)
            if len(result.conflicts) < MAX_LISTED:
                result.conflicts.append({"item": item_id, "label": names.get(item.given_label_id),
                                         "labels": {names[k]: v for k, v in counts.most_common()}})
    result.conflicting_duplicates = len(conflicting)
    if conflicting:
        given_labels_conflict.send(sender=Item, project=project, item_ids=conflicting)


def _items_by_hash(project: Project, hashes: set[str]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    ordered = sorted(hashes)
    for start in range(0, len(ordered), 5000):
        for item in Item.objects.filter(project=project, content_hash__in=ordered[start:start + 5000]).only(
                "id", "content_hash", "given_label", "final_label", "final_source", "needed", "annotation_count"):
            items[item.content_hash] = item
    return items


def _given_labels(items: list[Item]) -> tuple[dict[int, Counter], set[tuple[int, int, str]]]:
    """The imported given labels of ``items``: counts per item, and (item, label, reason) of each event."""
    votes: dict[int, Counter] = {it.pk: Counter() for it in items}
    known: set[tuple[int, int, str]] = set()
    ids = [it.pk for it in items]
    for start in range(0, len(ids), 5000):
        given = LabelEvent.objects.filter(item_id__in=ids[start:start + 5000], source="given", cause="import",
                                          to_label__isnull=False)
        for item_id, label_id, reason in given.values_list("item_id", "to_label_id", "reason").iterator(chunk_size=5000):
            votes[item_id][label_id] += 1
            known.add((item_id, label_id, reason))
    return votes, known


def _settle(project: Project, item: Item, counts: Counter, queue_given: bool, names: dict[int, str]) -> bool:
    """Give ``item`` the given label most of its copies arrived with (on a tie, the one it has); True if its
    final label changed. A final label from people (annotators, reviewers) is never overridden."""
    top = max(counts.values())
    winners = [k for k, v in counts.items() if v == top]
    majority = item.given_label_id if item.given_label_id in winners else winners[0]
    if majority == item.given_label_id:
        return False
    updates = {"given_label_id": majority}
    takes_final = item.final_source == "given" or (item.final_label_id is None and item.annotation_count == 0)
    if takes_final:
        updates.update(final_label_id=majority, final_source="given")
        if item.final_label_id is None and not queue_given:
            updates["needed"] = 0  # as a new item with a given label: it skips the queue
        tally = ", ".join(f"{names.get(k, k)} {n}" for k, n in counts.most_common())
        LabelEvent.objects.create(project=project, item_id=item.pk, source="given", from_label_id=item.final_label_id,
                                  to_label_id=majority, cause=MAJORITY_CAUSE,
                                  reason=f"the given label most of its {sum(counts.values())} imported copies carry ({tally})")
    Item.objects.filter(pk=item.pk).update(**updates)
    item.given_label_id = majority
    return takes_final


def _bulk_create(project, rows: list[Row], labels, queue_given, name, on_progress) -> None:
    """Write the rows in batches with the ORM, saving image files; a failure deletes the files it saved."""
    rng = random.Random()
    written: list[str] = []
    try:
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            _create_items(project, [_new_item(project, r, labels, queue_given, rng, written, name) for r in batch], name)
            if on_progress:
                on_progress(start + len(batch), len(rows))
    except Exception:
        for path in written:  # the rows roll back; do not leave their files behind
            default_storage.delete(path)
        raise


def _create_items(project, items: list[Item], name: str) -> None:
    """Insert the items and a 'given' label event for each item that came with a label."""
    Item.objects.bulk_create(items)
    LabelEvent.objects.bulk_create([
        LabelEvent(project=project, item=it, source="given", to_label=it.final_label,
                   reason=f"imported from {it._origin}", cause="import")
        for it in items if it.final_label is not None])


def _new_item(project, row: Row, labels, queue_given, rng, written, name: str) -> Item:
    given = labels.get(row.label) if row.label else None
    item = Item(project=project, text=row.text, source_name=row.source_name[:500], metadata=row.metadata,
                content_hash=row.content_hash, given_label=given,
                needed=project.overlap if (given is None or queue_given) else 0)
    item._origin = row.origin(name)  # for its label event's reason
    if given is not None:
        item.final_label, item.final_source = given, "given"
    if row.image_bytes is not None:
        path = default_storage.save(item_upload_to(item, "x" + row.image_suffix), ContentFile(row.image_bytes))
        written.append(path)
        item.image.name = path
    return item


# ---- Streaming import of large text files: a validation pass, then a write pass, in bounded memory ----------


def import_text_file(*, project: Project, path: Path, name: str, queue_given: bool = False,
                     on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a CSV or JSONL file of any size: validate it all first, then write it in one transaction.

    Memory stays bounded (one batch of rows at a time), and the cost per batch does not depend on how many
    items the project holds: duplicates are found with one indexed lookup of the batch's hashes (rows of
    earlier batches are already in the table, inside the same transaction).
    """
    validate.check_text_project(project, name)
    labels = validate.project_labels(project)
    scan = validate.scan_text_file(name, path, labels)
    scan.raise_any()
    result = ImportResult(created=0, duplicates=0, labels_created=[])
    copies: list[Row] = []
    with transaction.atomic():
        result.labels_created = validate.create_first_labels(project, labels, scan.label_names)
        rng = random.Random()
        with path.open("rb") as fh:
            for batch in _batches(iter_text_file(name, fh)):
                c, labeled = _write_batch(project, batch, labels, queue_given, rng, name, copies)
                result.created, result.duplicates = result.created + c, result.duplicates + len(batch) - c
                result.labeled += labeled
                if on_progress and len(batch) == BATCH:
                    on_progress(result.created + result.duplicates, scan.rows)
        record_copies(project=project, labels=labels, copies=copies, name=name, queue_given=queue_given,
                      result=result)
    if on_progress:
        on_progress(scan.rows, scan.rows)
    return result


def _batches(rows):
    """Lists of ``BATCH`` rows (the last one shorter)."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(project, batch: list[Row], labels, queue_given, rng, name, copies: list[Row]) -> tuple[int, int]:
    """Write the batch's new rows (labeled copies of earlier ones go to ``copies``); return (how many, labeled)."""
    unique = validate.new_in_batch(project, batch, copies)
    _create_items(project, [_new_item(project, r, labels, queue_given, rng, [], name) for r in unique], name)
    created, labeled = len(unique), sum(r.label is not None for r in unique)
    del unique
    # Model instances with a FileField sit in reference cycles (instance <-> FieldFile): free each batch now
    # rather than let a million rows of garbage pile up until the collector runs.
    gc.collect()
    return created, labeled
