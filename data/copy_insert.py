"""PostgreSQL COPY for bulk text imports: the same rows the ORM path writes, without per-row model objects.

Columns come from the models' field lists; a column this module does not set gets the field's default,
so a new model field with a default needs no change here.

Foreign keys are checked once per import, not once per row: PostgreSQL's per-row checks (six per labeled
item with its history event) were about 40% of a 100,000-item import (issue 18). Every key an import writes
points at the project, one of its labels (both locked FOR KEY SHARE here, as the per-row check would lock
them) or an item this transaction has just inserted, so checking the set up front is the same guarantee.
The COPY statements then run with ``session_replication_role = replica`` (it skips the per-row triggers), only
around the COPY and only where the database role may set it; elsewhere the per-row checks run as before.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from operator import add

from django.db import connection
from django.utils import timezone

from core.models import Item, ItemRank, Label, LabelEvent, Project
from quorum.lib import pg

BATCH = 20_000
# PostgreSQL's documented input for "the current transaction's start time" (what now() returns). For an import
# whose transaction is its own, that is the moment it began, and PostgreSQL parses it in half the time of an
# ISO timestamp with its offset (three timestamps per labeled item were ~4% of the database's work; issue 18).
TRANSACTION_START = "now"
SEND = 2_000  # rows formatted and sent to the server at a time
BYTEA_HEX = "\\\\x"  # a bytea in hex, "\\x" and the digits, its backslash escaped for COPY (the content hash)
ANALYZE_AFTER = 10_000
ANALYZED = ("project", "final_label", "given_label", "annotation_count", "needed", "excluded", "updated_at")


def available(rows) -> bool:
    return connection.vendor == "postgresql" and all(r.image_bytes is None for r in rows)


def _default(field):
    """What the ORM would write for an unset field: its default, or "" / NULL as Django does."""
    default = field.get_default()
    return None if default is None else field.get_db_prep_save(default, connection)


def _columns(model, values: dict, per_row=()) -> tuple[list[str], list]:
    """All concrete columns but the id; constants for the ones ``values`` does not name (None for ``per_row``)."""
    columns, constants = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in per_row:
            constants.append(None)
        elif field.column not in values:
            constants.append(_default(field))
        else:
            constants.append(values[field.column])
    return columns, constants


def copy_items(*, project: Project, rows, labels: dict, queue_given: bool, name: str,
               on_progress: Callable[[int, int], None] | None = None) -> None:
    """Insert validated, de-duplicated text rows and the 'given' label events, inside the caller's transaction."""
    writer = ItemWriter(project=project, labels=labels, queue_given=queue_given, name=name)
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        writer.write(batch)
        if on_progress:
            on_progress(start + len(batch), len(rows))
    writer.finish()


class ItemWriter:
    """Writes batches of validated, de-duplicated text rows with COPY, inside the caller's transaction.

    Item ids come from the table's sequence up front, so the 'given' label events are written by a second
    COPY that names their items directly (no join back on content hashes). ``own_transaction``: the caller
    began the transaction just now, so its start time is the items' creation time.
    """

    def __init__(self, *, project: Project, labels: dict, queue_given: bool, name: str, own_transaction: bool = False):
        # Inside a caller's longer transaction its start could be long ago: then the time now, spelled out.
        now = TRANSACTION_START if own_transaction else timezone.now()
        per_row = ["id", "text", "source_name", "metadata", "content_hash", "given_label_id", "final_label_id",
                   "final_source", "needed"]
        self.item_sql, self.item_tail = _copy_sql(
            Item, per_row, {"project_id": project.pk, "created_at": now, "updated_at": now})
        self.event_sql, self.event_tail = _copy_sql(LabelEvent, ["item_id", "to_label_id", "reason"], {
            "project_id": project.pk, "source": "given", "cause": "import", "created_at": now})
        self.name = name
        self.label_ids = {label_name: str(label.pk) for label_name, label in labels.items()}
        given_needed = project.overlap if queue_given else 0
        self.labeled = {None: f"\\N\t\\N\t\t{project.overlap}",
                        **{label_name: f"{pk}\t{pk}\tgiven\t{given_needed}" for label_name, pk in self.label_ids.items()}}
        self.written = 0
        self.sequence = None
        self.checked_once = _lock_referenced(project, self.label_ids.values())

    def write(self, batch: list) -> None:
        self.send(self.prepare(batch))

    def prepare(self, rows: list) -> "Prepared":
        """The rows' COPY lines without their ids, built a column at a time: str.join and zip do the per-row
        work in C (issue 18). No database: the one-pass import prepares a batch in its parsing thread."""
        labeled, n = self.labeled, len(rows)
        # ``labeled`` holds each label's four columns (given and final label, final source, copies still needed).
        lines = list(map("\t".join, zip(
            repeat("", n), _escape_all([r.text for r in rows]), _escape_all([r.source_name[:500] for r in rows]),
            _escape_all([r.metadata_json for r in rows]), [BYTEA_HEX + r.content_hash for r in rows],
            [labeled[r.label] for r in rows], repeat(self.item_tail[1:], n), strict=True)))
        given = [i for i, r in enumerate(rows) if r.label is not None]
        events = list(map("\t".join, zip(
            repeat("", len(given)), [self.label_ids[rows[i].label] for i in given],
            _escape_all(["imported from " + rows[i].origin(self.name) for i in given]),
            repeat(self.event_tail[1:], len(given)), strict=True)))
        return Prepared(rows, lines, given, events)

    def send(self, prepared: "Prepared") -> None:
        """Write prepared rows: their ids from the sequence, then the items and their label events by COPY."""
        if not prepared.rows:
            return
        with connection.cursor() as cursor:
            ids = self._next_ids(cursor, len(prepared.rows))
            with pg.row_checks_off(cursor, self.checked_once):
                with cursor.cursor.copy(self.item_sql) as copy:
                    # Sent in parts, so the server inserts one part while the next is joined.
                    for start in range(0, len(ids), SEND):
                        copy.write("".join(map(add, ids[start:start + SEND], prepared.lines[start:start + SEND])))
                if prepared.given:
                    with cursor.cursor.copy(self.event_sql) as copy:
                        copy.write("".join(map(add, [ids[i] for i in prepared.given], prepared.events)))
        self.written += len(prepared.rows)

    def _next_ids(self, cursor, n: int) -> list[str]:
        """``n`` ids from the item table's sequence, in one round trip, as COPY text."""
        if self.sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Item._meta.db_table])
            self.sequence = cursor.fetchone()[0]
        # The sequence as a constant: nextval() alone, not a catalog lookup per row (10x faster). One string,
        # split in C, rather than n result rows; in the series' order (ascending), without a sort.
        cursor.execute("SELECT string_agg(nextval(%s::regclass)::text, ' ') FROM generate_series(1, %s)",
                       [self.sequence, n])
        return cursor.fetchone()[0].split(" ")

    def finish(self) -> None:
        if self.written >= ANALYZE_AFTER:
            # Fresh statistics, so the next keyset read (an export right after the import) uses the index.
            # Only the columns queries filter on: sampling the text and metadata would take 3-4x longer.
            # At the server's statistics target: a smaller sample (target 10) took 14 ms instead of 70-80 at
            # 100,000 items, but ANALYZE replaces the statistics of the whole table, every project's, and
            # autovacuum would not redo them until a tenth of the table changed (issue 18: not worth 5%).
            columns = ", ".join(connection.ops.quote_name(Item._meta.get_field(f).column) for f in ANALYZED)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Item._meta.db_table)} ({columns})")
                cursor.execute(f"ANALYZE {connection.ops.quote_name(ItemRank._meta.db_table)}")  # the queue's


@dataclass
class Prepared:
    """Rows ready for COPY but for their ids: ``lines[i]`` follows row i's id; ``events[j]`` follows the id of
    row ``given[j]``, the j-th row with a given label."""

    rows: list
    lines: list[str]
    given: list[int]
    events: list[str]

    def without(self, gone: set[int]) -> "Prepared":
        """The same without the rows whose ``id()`` is in ``gone`` (rows the database turned out to hold)."""
        kept = [i for i, r in enumerate(self.rows) if id(r) not in gone]
        at = {old: new for new, old in enumerate(kept)}
        events = [(at[i], line) for i, line in zip(self.given, self.events, strict=True) if i in at]
        return Prepared([self.rows[i] for i in kept], [self.lines[i] for i in kept], [i for i, _ in events],
                        [line for _, line in events])


def _lock_referenced(project: Project, label_ids) -> bool:
    """Lock the rows the import's keys point at, as the per-row checks would; True if the COPY may skip them.

    False (per-row checks stay on) where the role may not set session_replication_role, or a label is gone.
    """
    with connection.cursor() as cursor:
        return (pg.may_skip_row_checks(cursor) and pg.key_share(cursor, Project._meta.db_table, [project.pk])
                and pg.key_share(cursor, Label._meta.db_table, label_ids, project_id=project.pk))


def _copy_sql(model, per_row: list[str], values: dict) -> tuple[str, str]:
    """COPY statement with the ``per_row`` columns first, and the text of the constant columns after them."""
    columns, constants = _columns(model, values, per_row)
    rest = [(c, v) for c, v in zip(columns, constants, strict=True) if c not in per_row]
    names = per_row + [c for c, _ in rest]
    tail = "".join("\t" + _text(v) for _, v in rest) + "\n"
    quoted = ", ".join(connection.ops.quote_name(c) for c in names)
    return f"COPY {connection.ops.quote_name(model._meta.db_table)} ({quoted}) FROM STDIN", tail



def _escape(value: str) -> str:
    """COPY text format: backslash, tab, newline and carriage return are escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _escape_all(values: list[str]) -> list[str]:
    """``_escape`` of each value: the values joined by NUL (which none of them holds: PostgreSQL text cannot),
    escaped in one go and split again, instead of four calls per value; untouched when nothing needs it."""
    joined = "\x00".join(values)
    if not any(c in joined for c in _SPECIAL):
        return values
    if joined.count("\x00") != len(values) - 1:
        return [_escape(v) for v in values]
    return _escape(joined).split("\x00")


_SPECIAL = ("\\", "\t", "\n", "\r")


def _text(value) -> str:
    """A constant column value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "obj"):  # psycopg's Jsonb wrapper for JSONField defaults
        return _escape(json.dumps(value.obj))
    return _escape(str(value))
