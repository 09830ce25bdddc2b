"""PostgreSQL COPY for bulk text imports: the same rows the ORM path writes, without per-row model objects.

Columns come from the models' field lists; a column this module does not set gets the field's default,
so a new model field with a default needs no change here.
"""
import json
import random
from collections.abc import Callable

from django.db import connection
from django.utils import timezone

from .models import Item, LabelEvent, Project

BATCH = 20_000
ANALYZE_AFTER = 10_000


def available(rows) -> bool:
    return connection.vendor == "postgresql" and all(r.image_bytes is None for r in rows)


def _default(field):
    """What the ORM would write for an unset field: its default, or "" / NULL as Django does."""
    default = field.get_default()
    return None if default is None else field.get_db_prep_save(default, connection)


def _columns(model, values: dict) -> tuple[list[str], list]:
    """All concrete columns but the id; constants for the ones ``values`` does not name."""
    columns, constants = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column not in values:
            constants.append(_default(field))
        else:
            constants.append(values[field.column])
    return columns, constants


def copy_items(*, project: Project, rows, labels: dict, queue_given: bool, name: str,
               on_progress: Callable[[int, int], None] | None = None) -> None:
    """Insert validated, de-duplicated text rows and the 'given' label events, inside the caller's transaction."""
    now = timezone.now()
    rng = random.Random()
    per_row = ["text", "source_name", "metadata", "content_hash", "given_label_id", "final_label_id",
               "final_source", "needed", "priority"]
    columns, constants = _columns(Item, {"project_id": project.pk, "created_at": now, "updated_at": now,
                                         **{c: None for c in per_row}})
    slots = [columns.index(c) for c in per_row]
    constant_text = [_text(v) for v in constants]
    table = connection.ops.quote_name(Item._meta.db_table)
    sql = f"COPY {table} ({', '.join(connection.ops.quote_name(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            with cursor.cursor.copy(sql) as copy:
                lines = []
                for r in batch:
                    given = labels.get(r.label) if r.label else None
                    given_id = str(given.pk) if given else "\\N"
                    values = list(constant_text)
                    for slot, value in zip(slots, (
                            _escape(r.text), _escape(r.source_name[:500]), _escape(json.dumps(r.metadata)),
                            r.content_hash, given_id, given_id, "given" if given else "",
                            str(project.overlap if (given is None or queue_given) else 0), repr(rng.random())),
                            strict=True):
                        values[slot] = value
                    lines.append("\t".join(values) + "\n")
                    if len(lines) == 1000:  # send as we go: the server inserts while Python formats
                        copy.write("".join(lines).encode())
                        lines = []
                copy.write("".join(lines).encode())
            _given_events(cursor, project, [r.content_hash for r in batch if r.label], name, now)
            if on_progress:
                on_progress(start + len(batch), len(rows))
        if len(rows) >= ANALYZE_AFTER:
            # Fresh statistics, so the next keyset read (an export right after the import) uses the index.
            cursor.execute(f"ANALYZE {table}")


def _escape(value: str) -> str:
    """COPY text format: backslash, tab, newline and carriage return are escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


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


def _given_events(cursor, project: Project, hashes: list[str], name: str, now) -> None:
    """One 'given' LabelEvent per new item with a given label, written by the database from the item rows."""
    if not hashes:
        return
    exprs = {"project_id": "i.project_id", "item_id": "i.id", "source": "'given'", "to_label_id": "i.final_label_id",
             "reason": "%s", "cause": "'import'", "created_at": "%s"}
    params_for = {"reason": f"given label in {name}", "created_at": now}
    columns, select, params = [], [], []
    for field in LabelEvent._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in exprs:
            select.append(exprs[field.column])
            if exprs[field.column] == "%s":
                params.append(params_for[field.column])
        else:
            select.append("%s")
            params.append(_default(field))
    cursor.execute(
        f"INSERT INTO {connection.ops.quote_name(LabelEvent._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(select)} FROM {connection.ops.quote_name(Item._meta.db_table)} i "
        "WHERE i.project_id = %s AND i.content_hash = ANY(%s) AND i.final_label_id IS NOT NULL",
        [*params, project.pk, hashes])
