"""PostgreSQL bulk writes that check their foreign keys once per batch instead of once per row.

A per-row foreign-key check locks the referenced row FOR KEY SHARE and looks it up. For a bulk write whose
keys all point at a few known rows (the project, its labels, a model version) or at rows the same statement
locks, the caller locks those rows once (``key_share``; ``existing_key_share`` where some may be gone), then
runs its statements with the per-row triggers off (``row_checks_off``): the same guarantee, without hundreds
of thousands of lookups. Only where the database role may set ``session_replication_role``
(``may_skip_row_checks``); elsewhere the per-row checks run. The constraints themselves stay in the schema.
``commit_without_waiting`` is for writes that can be recomputed.
"""
from contextlib import contextmanager

from django.db import connection


def may_skip_row_checks(cursor) -> bool:
    """Whether this database role may set session_replication_role: a superuser, or (PostgreSQL 15+) granted it."""
    privilege = ("has_parameter_privilege('session_replication_role', 'SET')" if connection.pg_version >= 150000
                 else "false")  # the function does not exist before 15: the query would not even parse
    cursor.execute(f"SELECT rolsuper OR {privilege} FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def key_share(cursor, table: str, ids, *, project_id: int | None = None) -> bool:
    """Lock these rows of ``table`` FOR KEY SHARE (as a per-row check would); True if every one exists
    (and, with ``project_id``, belongs to that project)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return True
    where = "id = ANY(%s)" + (" AND project_id = %s" if project_id is not None else "")
    params = [wanted] + ([project_id] if project_id is not None else [])
    cursor.execute(f"SELECT id FROM {connection.ops.quote_name(table)} WHERE {where} FOR KEY SHARE", params)
    return len(cursor.fetchall()) == len(wanted)


def existing_key_share(cursor, table: str, ids) -> set[int]:
    """Lock the rows of ``table`` with these ids FOR KEY SHARE (as a per-row check would); return the ids found
    (a row deleted meanwhile is not). One join over the ids, bounded by their range for the planner; the ids go
    as a binary array, so ``cursor`` is a psycopg cursor (not Django's, which quotes parameters into the SQL)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return set()
    name = connection.ops.quote_name(table)
    cursor.execute(f"SELECT t.id FROM {name} AS t JOIN unnest(%b::bigint[]) AS v(id) ON t.id = v.id "
                   "WHERE t.id BETWEEN %s AND %s FOR KEY SHARE OF t", [wanted, wanted[0], wanted[-1]])
    return {row[0] for row in cursor.fetchall()}


def commit_without_waiting(cursor) -> None:
    """Let this transaction's COMMIT return before its WAL is on disk (``synchronous_commit = off``, SET LOCAL).

    For writes that can be recomputed only: the transaction stays atomic and consistent, but if the database
    server itself crashes within about three ``wal_writer_delay`` (0.6 s by default) of the commit, the
    transaction may be lost although the caller saw it commit."""
    cursor.execute("SET LOCAL synchronous_commit = off")


@contextmanager
def row_checks_off(cursor, skip: bool):
    """Run the block's statements without per-row triggers when ``skip`` (SET LOCAL: a rollback undoes it
    too); whatever else the transaction writes is checked row by row again."""
    if skip:
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    if skip:
        cursor.execute("SET LOCAL session_replication_role = origin")
