"""Rank a project's open items from a model version chunk by chunk: the work that the rank_chunk tasks fan out.

A trained version keeps an artifact on disk (the fitted model, the item ids and feature rows it was trained
with, the out-of-fold probabilities of the labeled items); an uploaded version ranks from its stored
Prediction rows. Each chunk covers an id range: it predicts its items, stores their predictions, writes the
queue priority of its open items and hands on only its best candidates. ``merge`` then picks the head of the
queue (a diverse batch for the "_diverse" strategies) from those candidates. Every write is a pure function
of the version and the item's state, so a chunk or merge that runs twice writes the same values.
"""
from __future__ import annotations

import json
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import joblib
import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from scipy import sparse

from core.models import Item, ItemRank, Job, Label
from learning.models import ModelVersion, Prediction
from ml import active
from ml.training import predict_proba_full
from quorum.lib import pg

BATCH = 2000
UPLOADED_STRATEGY = "margin"  # uploaded probabilities: plain margin, as the upload always ranked
DECIMALS = 5  # stored probabilities are rounded to this many decimals


def chunk_size() -> int:
    return max(1, int(settings.QUORUM_RANK_CHUNK))


def artifact_dir(version: ModelVersion) -> Path:
    return Path(settings.MEDIA_ROOT) / "models" / f"project-{version.project_id}" / f"version-{version.pk}"


def save_artifact(version: ModelVersion, **parts) -> Path:
    """Write what the chunk tasks need to rank ``version`` (see write_artifact) to its artifact folder."""
    return write_artifact(artifact_dir(version), **parts)


def write_artifact(path: Path, *, model, seen, ids, X, oof_ids, oof_proba, labeled_y, strategy: str,
                   n_classes: int, seed: int = 0) -> Path:
    """Write model, item ids (n,), features X (n, d) dense or sparse, and the labeled rows' out-of-fold proba."""
    path.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path / "model.joblib")
    np.save(path / "ids.npy", np.asarray(ids, dtype=np.int64))
    if sparse.issparse(X):
        X = sparse.csr_matrix(X)
        for part in ("data", "indices", "indptr"):
            np.save(path / f"X_{part}.npy", getattr(X, part))
    else:
        np.save(path / "X.npy", np.asarray(X))
    np.save(path / "oof_ids.npy", np.asarray(oof_ids, dtype=np.int64))
    np.save(path / "oof_proba.npy", np.asarray(oof_proba, dtype=np.float64))
    _, _, balanced = active._parse_strategy(strategy)
    weight = active.class_weights(labeled_y, n_classes).tolist() if balanced else None
    meta = {"strategy": strategy, "n_classes": n_classes, "seen": np.asarray(seen).tolist(), "class_weight": weight,
            "sparse": sparse.issparse(X), "n_features": int(X.shape[1]), "seed": int(seed)}
    (path / "meta.json").write_text(json.dumps(meta))
    return path


@dataclass
class Artifact:
    """A trained version's ranking inputs, memory-mapped so a chunk reads only its own rows."""

    path: Path

    @cached_property
    def meta(self) -> dict:
        return json.loads((self.path / "meta.json").read_text())

    @cached_property
    def ids(self) -> np.ndarray:
        return np.load(self.path / "ids.npy", mmap_mode="r")

    @cached_property
    def model(self):
        return joblib.load(self.path / "model.joblib")

    def _load(self, name: str) -> np.ndarray:
        return np.load(self.path / f"{name}.npy", mmap_mode="r")

    def _read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a stored array, read from the file (not paged in through a map, so the
        worker's memory holds one chunk whatever the size of the project)."""
        header = self._load(name)  # only the header is read: shape, dtype, data offset
        width = int(np.prod(header.shape[1:], dtype=np.int64))
        stop = min(stop, header.shape[0])
        with open(self.path / f"{name}.npy", "rb") as fh:
            fh.seek(header.offset + start * width * header.itemsize)
            flat = np.fromfile(fh, dtype=header.dtype, count=max(stop - start, 0) * width)
        return flat.reshape((max(stop - start, 0), *header.shape[1:]))

    def rows(self, start: int, stop: int):
        """Feature rows [start, stop) of the snapshot, dense or CSR.

        Dense rows are predicted in float64: in float32 a row's probabilities change in the 7th digit with
        how many rows share the BLAS call, so the chunk size would show in the queue order.
        """
        if not self.meta["sparse"]:
            return self._read("X", start, stop).astype(np.float64)
        indptr = self._read("X_indptr", start, stop + 1)
        lo, hi = int(indptr[0]), int(indptr[-1])
        return sparse.csr_matrix((self._read("X_data", lo, hi), self._read("X_indices", lo, hi), indptr - lo),
                                 shape=(stop - start, self.meta["n_features"]))

    def rows_at(self, positions: np.ndarray):
        """Feature rows at ``positions`` (any order), dense or CSR."""
        if not self.meta["sparse"]:
            return np.vstack([self.rows(int(p), int(p) + 1) for p in positions])
        return sparse.vstack([self.rows(int(p), int(p) + 1) for p in positions], format="csr")

    def ids_between(self, start: int, stop: int) -> np.ndarray:
        return self._read("ids", start, stop)

    def oof_between(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """The out-of-fold rows of the items with ids in [lo, hi]: ids (m,) and probabilities (m, n_classes)."""
        oof_ids = np.asarray(self._load("oof_ids"))
        where = np.flatnonzero((oof_ids >= lo) & (oof_ids <= hi))
        return oof_ids[where], np.asarray(self._load("oof_proba")[where], dtype=np.float64)


def plan(version: ModelVersion) -> list[tuple[int, int]]:
    """The chunks to rank ``version`` in: inclusive item-id ranges of at most QUORUM_RANK_CHUNK items."""
    size = chunk_size()
    if version.origin == ModelVersion.Origin.UPLOADED:
        return _uploaded_plan(version, size)
    ids = Artifact(artifact_dir(version)).ids
    return [(int(ids[a]), int(ids[min(a + size, len(ids)) - 1])) for a in range(0, len(ids), size)]


# Row comparisons walk the (model_version, item) unique index from a point: PostgreSQL would rather filter
# the version's whole model_version index for "item_id BETWEEN", which grows with the project.
AFTER_SQL = (f"SELECT item_id FROM {Prediction._meta.db_table} WHERE (model_version_id, item_id) > (%s, %s) "
             "AND model_version_id = %s ORDER BY model_version_id, item_id LIMIT 1 OFFSET %s")
RANGE_SQL = (f"SELECT item_id, probabilities FROM {Prediction._meta.db_table} "
             "WHERE (model_version_id, item_id) >= (%s, %s) AND (model_version_id, item_id) <= (%s, %s) "
             "ORDER BY model_version_id, item_id")


def _uploaded_plan(version: ModelVersion, size: int) -> list[tuple[int, int]]:
    """Keyset boundaries over the version's predictions: two indexed queries per chunk, no id list in memory."""
    chunks, last = [], -1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(item_id) FROM {Prediction._meta.db_table} WHERE model_version_id = %s",
                       [version.pk])
        highest = cursor.fetchone()[0]
        while highest is not None and last < highest:
            cursor.execute(AFTER_SQL, [version.pk, last, version.pk, 0])
            first = cursor.fetchone()[0]
            cursor.execute(AFTER_SQL, [version.pk, last, version.pk, size - 1])
            row = cursor.fetchone()
            last = row[0] if row else highest
            chunks.append((first, last))
    return chunks


def _is_stale(version: ModelVersion, job_id: int | None) -> bool:
    """A newer version has replaced this one, or its job already finished: re-running would undo newer work."""
    if ModelVersion.objects.filter(project_id=version.project_id, pk__gt=version.pk).exists():
        return True
    return job_id is not None and Job.objects.filter(pk=job_id, state=Job.State.SUCCEEDED).exists()


def _open_filter(prefix: str = "rank__") -> dict:
    """Items (``prefix`` "rank__") or rank rows ("") waiting for annotators; escalated items (priority >= 2)
    keep their place."""
    return {f"{prefix}is_open": True, f"{prefix}priority__lt": 2.0}


def rank_chunk(version: ModelVersion, lo: int, hi: int, *, job_id: int | None = None) -> dict:
    """Predict and rank the items with ids in [lo, hi]; return the chunk's best candidates for ``merge``.

    Returns {"ids": [...], "scores": [...], "items": n, "open": n_open}, candidates best first.
    """
    if _is_stale(version, job_id):
        return {"ids": [], "scores": [], "items": 0, "open": 0}
    if version.origin == ModelVersion.Origin.UPLOADED:
        return _rank_uploaded_chunk(version, lo, hi)
    art = Artifact(artifact_dir(version))
    start, stop = (int(x) for x in np.searchsorted(art.ids, [lo, hi + 1]))
    ids = art.ids_between(start, stop)
    proba = predict_rows(art, start, stop)
    rows, final, is_open = _chunk_items(version.project_id, ids, lo, hi)  # items deleted since training: skipped
    open_rows = rows[is_open]
    score = chunk_scores(art, proba[open_rows], start + open_rows)
    priority = np.full(len(rows), np.nan)  # NaN: not open, the item keeps its priority
    priority[is_open] = priorities(art, score)
    label_pks = list(version.project.labels.values_list("pk", flat=True))
    out = chunk_values(art, label_pks, ids[rows], proba[rows], final, priority)
    started = time.perf_counter()
    with _chunk_transaction():
        _write(version, out)
    return candidates(ids[open_rows], score, art.meta["strategy"], items=len(rows),
                      db_seconds=time.perf_counter() - started)


@contextmanager
def _chunk_transaction():
    """A chunk's writes, in one transaction whose commit does not wait for the disk on PostgreSQL: they are a
    pure function of the version and the items, recomputed by ranking again, so a server crash right after
    the commit may lose them but never leaves half of them (pg.commit_without_waiting)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with _raw_cursor() as cursor:
                pg.commit_without_waiting(cursor)
        yield


def _chunk_items(project_id: int, ids: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, list, np.ndarray]:
    """Of the snapshot ``ids`` (sorted, in [lo, hi]): the positions of the items that still exist (n,), their
    final label ids (n,) and whether each is open (n,), from one query."""
    state = list(Item.objects.filter(project_id=project_id, pk__gte=lo, pk__lte=hi).order_by("pk")
                 .annotate(is_open=ExpressionWrapper(Q(**_open_filter()), output_field=BooleanField()))
                 .values_list("id", "final_label_id", "is_open"))
    at, found = _find(ids, np.array([row[0] for row in state], dtype=np.int64))
    kept = [row for row, f in zip(state, found.tolist(), strict=True) if f]
    return at[found], [row[1] for row in kept], np.array([row[2] for row in kept], dtype=bool)


def _find(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``wanted`` (m,) sits in ``sorted_ids``: positions (m,) and whether it is there (m,)."""
    at = np.searchsorted(sorted_ids, wanted)
    found = np.zeros(len(wanted), dtype=bool)
    inside = at < len(sorted_ids)
    found[inside] = sorted_ids[at[inside]] == wanted[inside]
    return at, found


def chunk_values(art: Artifact, label_pks: list[int], ids: np.ndarray, proba: np.ndarray, final: list,
                 priority: np.ndarray) -> dict:
    """What a chunk writes for its items ``ids`` (n,), sorted: their probabilities (n, n_classes), replaced by
    the out-of-fold ones for the items the model trained on, rounded to DECIMALS; the pre-label (the likeliest
    of the project's ``label_pks``) and its confidence; the probability of the item's ``final`` label (label
    quality, None without one); and ``priority`` (n,), NaN to keep the item's. Lists aligned with ``ids``,
    probabilities as an array; a None leaves the item's column as it is."""
    full = proba.copy()
    oof_ids, oof_proba = art.oof_between(int(ids[0]), int(ids[-1])) if len(ids) else (ids, proba)
    at, found = _find(ids, oof_ids)
    full[at[found]] = oof_proba[found]
    out_of_fold = np.zeros(len(ids), dtype=bool)
    out_of_fold[at[found]] = True
    top = full.argmax(axis=1) if len(ids) else np.zeros(0, dtype=np.int64)
    n = np.arange(len(ids))
    column = {pk: c for c, pk in enumerate(label_pks[:full.shape[1]])}
    known = np.array([column.get(f, -1) for f in final], dtype=np.int64)
    quality = np.where(known >= 0, full[n, np.maximum(known, 0)], np.nan)
    return {"id": ids.tolist(), "probabilities": np.round(full, DECIMALS), "out_of_fold": out_of_fold.tolist(),
            "label": np.asarray(label_pks, dtype=np.int64)[top].tolist(), "confidence": full[n, top].tolist(),
            "quality": _nullable(quality), "priority": _nullable(priority)}


def _nullable(values: np.ndarray) -> list:
    """A float array as a list with None where it holds NaN (an SQL NULL: the column keeps its value)."""
    return [None if v != v else v for v in values.tolist()]


def _write(version: ModelVersion, out: dict) -> None:
    """Store a chunk's predictions (kept if already there) and its items' pre-label, label quality and priority."""
    items = dict(label=out["label"], confidence=out["confidence"], quality=out["quality"], priority=out["priority"])
    if connection.vendor == "postgresql":
        with _raw_cursor() as cursor:
            _write_pg(cursor, version, out, items)
        return
    Prediction.objects.bulk_create(
        [Prediction(model_version=version, item_id=i, probabilities=p, out_of_fold=o)
         for i, p, o in zip(out["id"], out["probabilities"].tolist(), out["out_of_fold"], strict=True)],
        batch_size=BATCH, ignore_conflicts=True)
    _update_items(out["id"], **items)


def _write_pg(cursor, version: ModelVersion, out: dict, items: dict) -> None:
    """One chunk's writes with the foreign keys checked once per chunk instead of once per row.

    The per-row checks (the version and the item of each prediction, the pre-label of each item) were a
    third of a chunk's database time. Here the version and the labels are locked FOR KEY SHARE up front;
    the items whose rank row (or item row) the UPDATE writes are locked by it (an item cannot be deleted
    without its rank row, ItemRank.item), the others FOR KEY SHARE, which is what each per-row check does;
    and the per-row triggers are skipped (``session_replication_role``) for these statements only,
    where the role may set it. Predictions go only to the items found, so an item deleted since training
    gets none (a per-row check would have failed the chunk instead).
    """
    ids = out["id"]
    if not ids:  # every item of the chunk was deleted since training
        return
    labels = {i for i in out["label"] if i is not None}
    skip = (pg.may_skip_row_checks(cursor) and pg.key_share(cursor, ModelVersion._meta.db_table, [version.pk])
            and pg.key_share(cursor, Label._meta.db_table, labels, project_id=version.project_id))
    with pg.row_checks_off(cursor, skip):
        written = _update_items_pg(cursor, ids, items)
        present = written | pg.existing_key_share(cursor, Item._meta.db_table, [i for i in ids if i not in written])
        _store_predictions(cursor, version, out, present)


# Predictions of a chunk run before (a redelivered task): the rows already stored are kept.
PREDICTIONS_SQL = (
    f"INSERT INTO {Prediction._meta.db_table} (model_version_id, item_id, probabilities, out_of_fold) "
    "SELECT %s, v.item, v.p::jsonb, v.oof FROM unnest(%b::bigint[], %b::text[], %b::boolean[]) AS v(item, p, oof) "
    "ON CONFLICT (model_version_id, item_id) DO NOTHING")
PREDICTIONS_COPY = (f"COPY {Prediction._meta.db_table} (model_version_id, item_id, probabilities, out_of_fold) "
                    "FROM STDIN")
STORED_SQL = (f"SELECT 1 FROM {Prediction._meta.db_table} WHERE model_version_id = %s AND item_id BETWEEN %s AND %s "
              "LIMIT 1")


def _store_predictions(cursor, version: ModelVersion, out: dict, present: set[int]) -> None:
    """Store the predictions of the chunk's items in ``present``: by COPY, the cheapest way in, unless some are
    stored already (the chunk ran before, or runs twice at once), then by an insert that keeps those."""
    keep = [n for n, i in enumerate(out["id"]) if i in present]
    if not keep:
        return
    ids = [out["id"][n] for n in keep]
    oof = [out["out_of_fold"][n] for n in keep]
    texts = json_rows(out["probabilities"][keep])
    cursor.execute(STORED_SQL, [version.pk, min(ids), max(ids)])
    if cursor.fetchone() is None:
        try:
            with transaction.atomic():  # a savepoint: a twin run that stored first only costs the COPY
                with cursor.copy(PREDICTIONS_COPY) as copy:
                    copy.write("".join(f"{version.pk}\t{i}\t{t}\t{'t' if o else 'f'}\n"
                                       for i, t, o in zip(ids, texts, oof, strict=True)))
            return
        except psycopg.errors.UniqueViolation:
            pass
    cursor.execute(PREDICTIONS_SQL, [version.pk, ids, texts, oof])


@cache
def _decimal_reprs() -> np.ndarray:
    """repr(k / 10**DECIMALS) for k = 0 .. 10**DECIMALS: the JSON text of every rounded probability."""
    scale = 10**DECIMALS
    return np.array([repr(k / scale) for k in range(scale + 1)], dtype=object)


def json_rows(rounded: np.ndarray) -> list[str]:
    """json.dumps of each row of ``rounded`` (n, c): probabilities in [0, 1] already rounded to DECIMALS, as
    ``np.round`` gives them. The same text, from a table of the 10**DECIMALS + 1 possible numbers instead of
    formatting n * c floats one by one (a tenth of a second per chunk)."""
    k = np.rint(rounded * 10**DECIMALS)
    if not len(k) or not np.array_equal(k / 10**DECIMALS, rounded) or k.min() < 0 or k.max() > 10**DECIMALS:
        return [json.dumps(row) for row in rounded.tolist()]  # not such a table: format them one by one
    return ["[" + ", ".join(row) + "]" for row in _decimal_reprs()[k.astype(np.int64)].tolist()]


# Where a chunk's values go: the pre-label and the priority to the item's narrow rank row (three indexes, cheap
# to rewrite for every item), the label quality (labelled items only) to the item row.
COLUMNS = {"label": (ItemRank, "predicted_label_id"), "confidence": (ItemRank, "predicted_confidence"),
           "priority": (ItemRank, "priority"), "quality": (Item, "label_quality")}
SQL_TYPES = {"label": "bigint", "confidence": "float8", "quality": "float8", "priority": "float8"}


def _by_table(values: dict) -> list[tuple[type, dict]]:
    """``values`` split by the model whose table holds them, rank rows first."""
    return [(model, mine) for model in (ItemRank, Item)
            if (mine := {n: v for n, v in values.items() if COLUMNS[n][0] is model})]


def _update_items(ids: list[int], **values: list) -> None:
    """Set the items' rank and item columns from lists aligned with ``ids``; a None keeps the current value.
    Rows whose columns already hold these values are not written (PostgreSQL)."""
    if not ids:  # every item of the chunk was deleted since training
        return
    if connection.vendor == "postgresql":
        with _raw_cursor() as cursor:
            _update_items_pg(cursor, ids, values)
        return
    for model, mine in _by_table(values):
        fields = [COLUMNS[n][1].removesuffix("_id") for n in mine]
        current = model.objects.only("pk", *fields).in_bulk(ids)
        for n, item_id in enumerate(ids):
            row = current.get(item_id)
            for name in mine:
                if row is not None and mine[name][n] is not None:
                    setattr(row, COLUMNS[name][1], mine[name][n])
        model.objects.bulk_update(list(current.values()), fields, batch_size=BATCH)


def _update_items_pg(cursor, ids: list[int], values: dict) -> set[int]:
    """One UPDATE over arrays per table (rank rows, items), of the rows where a value differs; returns the ids
    of the items whose rank row or item row it wrote (and so locked: see _write_pg)."""
    written = set()
    for model, mine in _by_table(values):
        written |= _update_rows_pg(cursor, model, ids, mine)
    return written


def _update_rows_pg(cursor, model, ids: list[int], values: dict) -> set[int]:
    """The UPDATE of one table, keyed by item id.

    The ORM's bulk_update builds a CASE per row and took ~40 s for a chunk of 20,000 items; the arrays take
    a fraction of a second, nearly all of it index maintenance: every written row is a new row version with
    an entry in each of the table's indexes, so a row that would get the values it has is left alone. That
    is also why the values a ranking writes for every item live in the rank table (three narrow indexes, ~0.1 s per
    20,000 rows) and not on the item row (ten, ~0.7 s).
    """
    if not ids or not values:
        return set()
    names = list(values)
    table, key = model._meta.db_table, model._meta.pk.column
    new = {n: f"COALESCE(v.{n}, t.{COLUMNS[n][1]})" for n in names}
    sets = ", ".join(f"{COLUMNS[n][1]} = {new[n]}" for n in names)
    changed = " OR ".join(f"t.{COLUMNS[n][1]} IS DISTINCT FROM {new[n]}" for n in names)
    arrays = ", ".join(["%b::bigint[]", *(f"%b::{SQL_TYPES[n]}[]" for n in names)])  # binary: no quoting
    # The id range keeps the join on the chunk's rows, not a scan of the table.
    cursor.execute(f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) "
                   f"AS v(id, {', '.join(names)}) WHERE t.{key} = v.id AND t.{key} BETWEEN %s AND %s AND ({changed}) "
                   f"RETURNING t.{key}", [ids, *values.values(), min(ids), max(ids)])
    return {row[0] for row in cursor.fetchall()}


def _raw_cursor():
    """psycopg's own cursor: it sends array parameters separately (Django's client-side cursor quotes them into
    the SQL text first, which costs more than the update)."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def predict_rows(art: Artifact, start: int, stop: int) -> np.ndarray:
    """Class probabilities (stop - start, n_classes) of snapshot rows [start, stop) from the stored model."""
    return predict_proba_full(art.model, np.asarray(art.meta["seen"]), art.rows(start, stop), art.meta["n_classes"])


def chunk_scores(art: Artifact, proba: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Queue scores (n,) of rows ``proba`` (n, n_classes) at snapshot ``positions`` (n,), by the version's strategy."""
    meta = art.meta
    return active.queue_scores(proba, meta["strategy"], class_weight=meta["class_weight"], positions=positions,
                               n_total=len(art.ids), random_state=meta.get("seed", 0))


def priorities(art: Artifact, score: np.ndarray) -> np.ndarray:
    """Queue priorities in [0, 1) for scores: every chunk divides by the same bound, so chunks compare."""
    return active.PRIORITY_SPAN * score / active.score_scale(art.meta["strategy"], art.meta["class_weight"])


def _rank_uploaded_chunk(version: ModelVersion, lo: int, hi: int) -> dict:
    """Uploaded probabilities: priority is the margin uncertainty of the stored prediction."""
    with connection.cursor() as cursor:
        cursor.execute(RANGE_SQL, [version.pk, lo, version.pk, hi])
        rows = cursor.fetchall()
    open_ids = set(ItemRank.objects.filter(project_id=version.project_id, pk__gte=lo, pk__lte=hi, **_open_filter(""))
                   .values_list("pk", flat=True))
    kept = [(i, p if isinstance(p, str) else json.dumps(p)) for i, p in rows if i in open_ids]
    if not kept:
        return candidates(np.zeros(0, dtype=np.int64), np.zeros(0), UPLOADED_STRATEGY, items=len(rows))
    ids = np.array([i for i, _ in kept], dtype=np.int64)
    proba = json.loads("[" + ",".join(p for _, p in kept) + "]")  # one parse: a third cheaper than one a row
    score = active.queue_scores(np.array(proba, dtype=np.float64), UPLOADED_STRATEGY)
    started = time.perf_counter()
    with _chunk_transaction():
        _update_items(ids.tolist(), priority=score.tolist())
    return candidates(ids, score, UPLOADED_STRATEGY, items=len(rows), db_seconds=time.perf_counter() - started)


def candidates(ids: np.ndarray, score: np.ndarray, strategy: str, *, items: int, db_seconds: float = 0.0) -> dict:
    """A chunk's result for the merge: its candidate_count best open items (ids and scores, best first), and
    the seconds its writes took in the database (``db_seconds``: the item updates and stored predictions)."""
    top = active.top_indices(score, active.candidate_count(strategy))
    return {"ids": ids[top].tolist(), "scores": score[top].tolist(), "items": items, "open": int(len(ids)),
            "db_seconds": round(db_seconds, 4)}


def chunk_db_seconds(results: list[dict]) -> dict:
    """The chunks' database write time: {"chunks", "mean", "max", "total"} in seconds."""
    seconds = [r.get("db_seconds", 0.0) for r in results]
    if not seconds:
        return {"chunks": 0, "mean": 0.0, "max": 0.0, "total": 0.0}
    return {"chunks": len(seconds), "mean": round(sum(seconds) / len(seconds), 3), "max": round(max(seconds), 3),
            "total": round(sum(seconds), 3)}


def merge(version: ModelVersion, results: list[dict], *, job_id: int | None = None) -> list[int]:
    """Put the head batch chosen from every chunk's candidates at the front of the queue; return its item ids."""
    if _is_stale(version, job_id):
        return []
    if version.origin == ModelVersion.Origin.UPLOADED:  # ranked by margin alone: no head batch to choose
        prune_artifacts(version)
        return []
    art = Artifact(artifact_dir(version))
    head_ids, head_scores = pick_head(art, results)
    with transaction.atomic():
        for item_id, p in zip(head_ids.tolist(), priorities(art, head_scores).tolist(), strict=True):
            ItemRank.objects.filter(pk=item_id, **_open_filter("")).update(priority=1.0 + p / 2)
    prune_artifacts(version)
    return head_ids.tolist()


def pick_head(art: Artifact, results: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The head batch (item ids, scores) chosen from the chunks' candidates: a diverse batch if the strategy says so."""
    strategy = art.meta["strategy"]
    cand_ids, cand_scores = active.top_k_merge(((r["scores"], r["ids"]) for r in results),
                                               active.candidate_count(strategy), dtype=np.float64)
    n_open = sum(r["open"] for r in results)
    if n_open == 0 or len(cand_ids) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cand_X = art.rows_at(np.searchsorted(art.ids, cand_ids))
    head = active.head_batch(cand_scores, cand_X, batch_size=min(active.BATCH_AHEAD, n_open), strategy=strategy,
                             random_state=art.meta.get("seed", 0))
    return cand_ids[head], cand_scores[head]


def prune_artifacts(version: ModelVersion) -> None:
    """Remove the artifacts of the project's older versions: only the latest one is ever ranked from."""
    root = artifact_dir(version).parent
    keep = artifact_dir(version).name
    for path in root.glob("version-*"):
        if path.name != keep and int(path.name.split("-")[1]) < version.pk:
            shutil.rmtree(path, ignore_errors=True)


def cold_start_queue(project) -> list[int]:
    """Before the first model: move a representative batch of open items (ml.active.cold_start, the item
    nearest each k-means centre) to the front of the queue. Returns their ids; [] once a model exists."""
    from learning.featurize import project_features, project_seed

    if ModelVersion.objects.filter(project=project).exists():
        return []
    open_ids = set(ItemRank.objects.filter(project=project, **_open_filter("")).values_list("pk", flat=True))
    if not open_ids:
        return []
    ids, X = project_features(project)
    rows = np.array([n for n, i in enumerate(ids.tolist()) if i in open_ids], dtype=np.int64)
    picked = ids[rows[active.cold_start(X[rows], batch_size=min(active.BATCH_AHEAD, len(rows)),
                                                random_state=project_seed(project))]].tolist()
    with transaction.atomic():
        for rank, item_id in enumerate(picked):  # in [1, 2), in pick order, like a model's head batch
            ItemRank.objects.filter(pk=item_id, **_open_filter("")).update(
                priority=1.0 + active.PRIORITY_SPAN * (1 - rank / len(picked)) / 2)
    return picked


def rank_inline(version: ModelVersion, *, job_id: int | None = None) -> list[int]:
    """Run every chunk and the merge in this process, in order: what the chord does, without a worker."""
    return merge(version, [rank_chunk(version, lo, hi, job_id=job_id) for lo, hi in plan(version)], job_id=job_id)
