"""Write: put validated rows into the project in one transaction, all or nothing, and count what was written.

The last stage of an import. Each entry point has validate.py check the rows before it writes any; a large
text file goes through in batches, each read (parse.py), de-duplicated (validate.py) and then written.
On PostgreSQL text rows go in with COPY (copy_insert.py); elsewhere, and for images, with bulk_create.
"""
import gc
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from core.models import Item, LabelEvent, Project
from core.models.item import item_upload_to
from data import copy_insert, validate
from data.parse import Row, iter_text_file
from quorum.lib.errors import ImportRowError

BATCH = 2000


@dataclass
class ImportResult:
    created: int
    duplicates: int
    labels_created: list[str]

    def as_dict(self) -> dict:
        return {"created": self.created, "duplicates": self.duplicates, "labels_created": self.labels_created}


def import_rows(*, project: Project, rows: list[Row], errors: list[ImportRowError], name: str,
                queue_given: bool = False, on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Write parsed rows in one transaction once they are valid; any problem means nothing is written.

    Items with a given label become labeled (source ``given``) and skip the queue unless ``queue_given``.
    Duplicates (same content hash, in the upload or already in the project) are skipped and counted.
    """
    validate.check_parsed(rows, errors, name)
    validate.check_kind(project, rows, name)
    with transaction.atomic():
        labels, created_labels = validate.resolve_labels(project, rows, name)
        unique, duplicates = validate.dedupe(project, rows)
        if copy_insert.available(unique):  # PostgreSQL and text: COPY, 10x faster than bulk_create
            copy_insert.copy_items(project=project, rows=unique, labels=labels, queue_given=queue_given, name=name,
                                   on_progress=on_progress)
        else:
            _bulk_create(project, unique, labels, queue_given, name, on_progress)
    return ImportResult(created=len(unique), duplicates=duplicates, labels_created=created_labels)


def _bulk_create(project, rows: list[Row], labels, queue_given, name, on_progress) -> None:
    """Write the rows in batches with the ORM, saving image files; a failure deletes the files it saved."""
    rng = random.Random()
    written: list[str] = []
    try:
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            _create_items(project, [_new_item(project, r, labels, queue_given, rng, written) for r in batch], name)
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
                   reason=f"given label in {name}", cause="import")
        for it in items if it.final_label is not None])


def _new_item(project, row: Row, labels, queue_given, rng, written) -> Item:
    given = labels.get(row.label) if row.label else None
    item = Item(project=project, text=row.text, source_name=row.source_name[:500], metadata=row.metadata,
                content_hash=row.content_hash, given_label=given, priority=rng.random(),
                needed=project.overlap if (given is None or queue_given) else 0)
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
    created = duplicates = 0
    with transaction.atomic():
        created_labels = validate.create_first_labels(project, labels, scan.label_names)
        rng = random.Random()
        with path.open("rb") as fh:
            for batch in _batches(iter_text_file(name, fh)):
                c = _write_batch(project, batch, labels, queue_given, rng, name)
                created, duplicates = created + c, duplicates + len(batch) - c
                if on_progress and len(batch) == BATCH:
                    on_progress(created + duplicates, scan.rows)
    if on_progress:
        on_progress(scan.rows, scan.rows)
    return ImportResult(created=created, duplicates=duplicates, labels_created=created_labels)


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


def _write_batch(project, batch: list[Row], labels, queue_given, rng, name) -> int:
    """Write the batch's new rows; return how many."""
    unique = validate.new_in_batch(project, batch)
    _create_items(project, [_new_item(project, r, labels, queue_given, rng, []) for r in unique], name)
    created = len(unique)
    del unique
    # Model instances with a FileField sit in reference cycles (instance <-> FieldFile): free each batch now
    # rather than let a million rows of garbage pile up until the collector runs.
    gc.collect()
    return created
