"""One-pass CSV/JSONL import on PostgreSQL: a thread parses and validates while COPY writes, all or nothing.

The result is the same as parsing everything first and then writing (data.write.import_rows): the
rows go into the database inside one transaction, and any invalid row rolls the whole transaction back, so
nothing is ever visible from an upload with a problem, and every problem is reported with its line. Doing
both at once lets the database insert (and check indexes and foreign keys) on one core while Python parses
on the other, which roughly halves the time of a large import (issue #7).
"""
import gc
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from core.models import Item, Project
from data import copy_insert
from data.parse import STREAMING_SUFFIXES, Row, iter_text_file, parse_upload
from data.validate import Tally, keep_copy, project_labels
from data.write import ImportResult, import_rows, record_copies

BATCH = 20_000
# The upload's hashes are kept in memory to find its duplicates without a query: the first 8 bytes of each
# SHA-256 in sorted numpy runs (``Prefixes``: 8 bytes a row, against ~90 in a set of 16-byte digests and 250 for
# the hex string; issue 18). A prefix seen before only says "maybe": those few rows are confirmed against the
# rows this transaction already wrote. Past SEEN_LIMIT rows the prefixes are dropped and each batch looks up
# all its rows instead (slower: ~0.4 s a batch at 1,000,000 rows), so the memory stays flat at any size.
SEEN_LIMIT = 2_000_000
_DONE = object()


def available(project: Project, name: str) -> bool:
    """PostgreSQL, a text project that has its labels already (a first import creates them), a text file."""
    return (connection.vendor == "postgresql" and not project.is_image and name.lower().endswith(STREAMING_SUFFIXES)
            and project.labels.exists())


def import_text(*, project: Project, name: str, stream, queue_given: bool = False,
                on_progress: Callable[[int], None] | None = None, bounded_memory: bool = False) -> ImportResult:
    """Import a CSV or JSONL stream, all or nothing; in one pass where ``available``, else parse then write.

    ``on_progress(rows_read)`` is called after each batch. Duplicates within the upload are found with a set
    of its hashes; with ``bounded_memory`` (files of any size), and past SEEN_LIMIT rows in any case, only within
    a batch, and across batches by the per-batch lookup, which sees the rows this transaction already wrote.
    """
    if not available(project, name):
        rows, errors = parse_upload(name, stream)
        return import_rows(project=project, rows=rows, errors=errors, name=name, queue_given=queue_given)
    labels = project_labels(project)
    own_transaction = not connection.in_atomic_block
    with _collector_paused(), transaction.atomic():
        upload, written = _Outcome(name, labels), _Written()
        # Hashes already in the project are looked up per batch (one indexed query), so the cost does not
        # depend on how many items the project holds; a project that was empty needs no lookup at all.
        check_existing = bounded_memory or Item.objects.filter(project=project).exists()
        writer = copy_insert.ItemWriter(project=project, labels=labels, queue_given=queue_given, name=name,
                                        own_transaction=own_transaction)
        for taken in _ahead(_taken(upload, writer, iter_text_file(name, stream), bounded_memory)):
            if taken.prepared is None:
                continue  # keep parsing to report every problem; the transaction is rolled back below
            written.copies.extend(taken.copies)
            check_existing = check_existing or taken.lookup
            if check_existing and taken.prepared.rows:
                prepared = written.drop_existing(project, taken.prepared, taken.prepared.rows)
            else:
                prepared = written.drop_existing(project, taken.prepared, taken.maybe)
            writer.send(prepared)
            written.count(prepared.rows)
            if on_progress:
                on_progress(taken.read)
        upload.tally.raise_any()  # inside the atomic block: raising rolls back what was written
        writer.finish()
        result = ImportResult(created=written.created, duplicates=upload.duplicates + written.duplicates,
                              labels_created=[], labeled=written.labeled)
        record_copies(project=project, labels=labels, copies=written.copies, name=name, queue_given=queue_given,
                      result=result)
    return result


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused for the import: it allocates millions of objects, none in a
    cycle, and the collector's passes over them took 15-30% of the parsing time (issue 18). Reference counting
    still frees every batch once written; the collector runs again afterwards."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@dataclass
class _Taken:
    """A batch as the parsing thread hands it over: its new rows formatted for COPY (None once the upload has a
    problem: nothing more is written), the rows to confirm in the database, and its labeled copies."""

    prepared: copy_insert.Prepared | None
    maybe: list[Row]
    copies: list[Row]
    lookup: bool  # look every row up in the database (past SEEN_LIMIT, or with bounded memory)
    read: int  # records read so far


def _taken(upload: "_Outcome", writer: copy_insert.ItemWriter, results: Iterator, bounded_memory: bool):
    """Check, de-duplicate and format each batch of ``results`` (no database: this runs in the parsing thread,
    while the database inserts the batch before)."""
    lookup = False
    for batch in _batches(results):
        if bounded_memory or len(upload.seen) >= SEEN_LIMIT:
            upload.seen.clear()
            lookup = True
        unique = upload.take(batch)
        yield _Taken(prepared=None if upload.tally else writer.prepare(unique), maybe=upload.maybe,
                     copies=upload.batch_copies, lookup=lookup, read=upload.tally.rows + upload.tally.problems.count)


class Prefixes:
    """A set of 64-bit keys in sorted numpy runs, merged like a binary counter (at most ~log2(n / batch) runs):
    8 bytes a key, and a batch's lookup is one binary search per run."""

    def __init__(self):
        self.runs: list[np.ndarray] = []
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def clear(self) -> None:
        self.runs, self.count = [], 0

    def contains(self, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            at = np.minimum(np.searchsorted(run, keys), len(run) - 1)
            found |= run[at] == keys
        return found

    def add(self, keys: np.ndarray) -> None:
        run = np.unique(keys)
        while self.runs and len(self.runs[-1]) <= len(run):
            run = np.union1d(self.runs.pop(), run)
        self.runs.append(run)
        self.count += len(keys)


def _prefixes(hashes: list[str]) -> np.ndarray:
    """The first 8 bytes of each hex SHA-256, as 64-bit keys (one hex decode for the whole list)."""
    return np.frombuffer(bytes.fromhex("".join([h[:16] for h in hashes])), dtype=">u8").astype(np.uint64)


class _Outcome:
    """What the parsing thread knows of the upload: its problems, the prefixes of its rows, its duplicates."""

    def __init__(self, name: str, labels: dict):
        self.tally = Tally(name, labels)
        self.seen = Prefixes()
        self.maybe: list[Row] = []  # rows of the last batch whose prefix was seen before: confirm in the database
        self.batch_copies: list[Row] = []  # the last batch's rows whose content came earlier in the upload (keep_copy)
        self.duplicates = 0

    def take(self, batch: list) -> list[Row]:
        """The batch's new rows (not seen earlier in the upload, as far as prefixes tell: see ``maybe``);
        records its problems."""
        rows = self.tally.check_all(batch)
        hashes = [r.content_hash for r in rows]
        self.batch_copies = []
        unique = rows if len(set(hashes)) == len(hashes) else self._first_of_each(rows)
        keys = _prefixes([r.content_hash for r in unique] if unique is not rows else hashes)
        seen = np.flatnonzero(self.seen.contains(keys)) if len(self.seen) else ()
        self.maybe = [unique[i] for i in seen]
        self.seen.add(keys)
        return unique

    def _first_of_each(self, rows: list[Row]) -> list[Row]:
        """The rows whose content is not earlier in the same list; the others count as duplicates."""
        unique, in_batch = [], set()
        for r in rows:
            if r.content_hash in in_batch:
                self.duplicates += 1
                keep_copy(self.batch_copies, r)
            else:
                in_batch.add(r.content_hash)
                unique.append(r)
        return unique


class _Written:
    """What the writing side has done: items created and labeled, copies of content the project already held."""

    def __init__(self):
        self.created = self.labeled = self.duplicates = 0
        self.copies: list[Row] = []  # rows whose content was already there (keep_copy): their labels are kept

    def count(self, rows: list[Row]) -> None:
        self.created += len(rows)
        self.labeled += len(rows) - [r.label for r in rows].count(None)

    def drop_existing(self, project: Project, prepared: copy_insert.Prepared, rows: list[Row]) -> copy_insert.Prepared:
        """``prepared`` without those of ``rows`` whose content the project (or this transaction) already holds."""
        if not rows:
            return prepared
        # One array parameter rather than Django's IN (%s, %s, ...): 2-3x faster for 20,000 hashes.
        with connection.cursor() as cursor:
            # The statistics still describe the table before this upload (an empty project's: no rows), so the
            # planner would scan the whole table for every batch; the unique index finds each hash directly.
            cursor.execute("SET LOCAL enable_seqscan = off")
            # The column holds the digests' bytes (core.models.fields.Sha256Field): a bytea[] parameter.
            cursor.execute(f"SELECT content_hash FROM {connection.ops.quote_name(Item._meta.db_table)} "
                           "WHERE project_id = %s AND content_hash = ANY(%s)",
                           [project.pk, [bytes.fromhex(r.content_hash) for r in rows]])
            existing = {bytes(row[0]).hex() for row in cursor.fetchall()}
            cursor.execute("SET LOCAL enable_seqscan = on")
        if not existing:
            return prepared
        old = [r for r in rows if r.content_hash in existing]
        self.duplicates += len(old)
        for r in old:
            keep_copy(self.copies, r)
        return prepared.without({id(r) for r in old})


def _batches(results: Iterator, size: int | None = None) -> Iterator[list]:
    """Batches of ``size`` rows, the first ones smaller (an eighth, a quarter, a half): the database starts
    inserting as soon as a few thousand rows are read, rather than waiting for a whole batch (issue 18)."""
    size = size or BATCH
    batch, limit = [], max(1, size // 8)
    for r in results:
        batch.append(r)
        if len(batch) >= limit:
            yield batch
            batch, limit = [], min(size, limit * 2)
    if batch:
        yield batch


def _ahead(items: Iterator) -> Iterator:
    """``items`` produced by a background thread, at most one ahead (and one in the making): memory stays flat.

    The consumer spends most of its time waiting for the database (psycopg releases the GIL then), so the
    parsing thread runs in that time. An exception in the producer is re-raised in the consumer.
    """
    queued: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce():
        try:
            for item in items:
                if not _put(queued, item, stop):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            _put(queued, exc, stop)
        finally:
            _put(queued, _DONE, stop)

    thread = threading.Thread(target=produce, name="import-parser", daemon=True)
    thread.start()
    try:
        while (item := queued.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _put(batches: queue.Queue, item, stop: threading.Event) -> bool:
    """Put unless the consumer has stopped (then the producer gives up instead of blocking forever)."""
    while not stop.is_set():
        try:
            batches.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False

