"""Uploaded predictions: validate every row first, then store a model version, predictions and the queue order."""
import json
import math

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jobs
from core.models import Item, ItemRank, Project
from learning import ranking, tracking
from learning.job_kinds import RANK
from learning.models import ModelVersion, Prediction
from quorum.lib.errors import Conflict, QuorumError, problem_list

BATCH = 2000
TOLERANCE = 1e-3


class PredictionErrors(QuorumError):
    """Every problem found in one upload; nothing was written. ``details`` names each row."""

    code = "predictions_invalid"

    def __init__(self, errors: list[dict]):
        super().__init__(problem_list("stored", (
            f"row {e['row']}" + (f" (item {e['item']})" if e.get("item") is not None else "") + f": {e['reason']}"
            for e in errors), len(errors)))
        self.errors = errors
        self.details = errors[:1000]


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _probabilities(raw, names: list[str]) -> tuple[list[float] | None, str | None]:
    """Probabilities in label order from a list (label order) or an object keyed by label name."""
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - set(names))
        missing = [n for n in names if n not in raw]
        if unknown or missing:
            return None, (f"'probabilities' must have exactly the labels {', '.join(names)}"
                          + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                          + (f"; missing: {', '.join(missing)}" if missing else ""))
        raw = [raw[n] for n in names]
    if not isinstance(raw, list):
        return None, "'probabilities' must be a list in label order or an object keyed by label name"
    if len(raw) != len(names):
        return None, (f"'probabilities' has {len(raw)} values but the project has {len(names)} labels "
                      f"({', '.join(names)})")
    if not all(_is_number(p) for p in raw):
        return None, "'probabilities' must contain only finite numbers"
    if any(p < 0 or p > 1 for p in raw):
        return None, "every probability must be between 0 and 1"
    total = math.fsum(raw)
    if abs(total - 1.0) > TOLERANCE:
        return None, f"probabilities sum to {total:.6g}, not 1 (tolerance {TOLERANCE})"
    return [float(p) for p in raw], None


def _validate(project: Project, rows, names: list[str]) -> list[tuple[int, list[float], list[float] | None]]:
    if not isinstance(rows, list) or not rows:
        raise QuorumError("'predictions' must be a non-empty list of {\"item\", \"probabilities\"} objects.")
    errors, parsed, seen, dim = [], [], set(), None
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append({"row": n, "item": None, "reason": "each prediction must be a JSON object"})
            continue
        item = row.get("item")
        if not isinstance(item, int) or isinstance(item, bool):
            errors.append({"row": n, "item": None, "reason": "'item' must be an item id (integer)"})
            continue
        if item in seen:
            errors.append({"row": n, "item": item, "reason": "item appears twice in this upload"})
            continue
        seen.add(item)
        proba, reason = _probabilities(row.get("probabilities"), names)
        if reason:
            errors.append({"row": n, "item": item, "reason": reason})
            continue
        embedding = row.get("embedding")
        if embedding is not None:
            if not isinstance(embedding, list) or not embedding or not all(_is_number(x) for x in embedding):
                errors.append({"row": n, "item": item, "reason": "'embedding' must be a non-empty list of finite numbers"})
                continue
            dim = dim or len(embedding)
            if len(embedding) != dim:
                errors.append({"row": n, "item": item, "reason": (
                    f"'embedding' has {len(embedding)} values; earlier rows have {dim}: all must have the same length")})
                continue
        parsed.append((n, item, proba, embedding))
    known = set()
    ids = [p[1] for p in parsed]
    for start in range(0, len(ids), 5000):
        known.update(Item.objects.filter(project=project, pk__in=ids[start:start + 5000]).values_list("pk", flat=True))
    errors += [{"row": n, "item": item, "reason": f"no item {item} in project {project.name}"}
               for n, item, _, _ in parsed if item not in known]
    if errors:
        raise PredictionErrors(sorted(errors, key=lambda e: e["row"]))
    return [(item, proba, embedding) for _, item, proba, embedding in parsed]


def predictions_upload(*, project: Project, model_version: str, rows: list, params: dict | None = None) -> ModelVersion:
    """Store uploaded class probabilities as a new model version, all or nothing.

    Each item's predicted label and confidence follow the upload; open items are re-ranked by margin
    uncertainty (escalated items, priority >= 2, keep their place, as after a retrain): in this request
    when the upload fits one ranking chunk, else by a "rank" job whose chunks run as parallel tasks.
    """
    name = (model_version or "").strip() if isinstance(model_version, str) else ""
    if not name or len(name) > 200 or "\x00" in name:
        raise QuorumError("'model_version' must be a name of 1-200 characters, e.g. \"bert-base-2024-06-01\".")
    if ModelVersion.objects.filter(project=project, name=name).exists():
        raise Conflict(f"Model version {name!r} already exists in {project.name}; upload under a new name.")
    if params is not None and not isinstance(params, dict):
        raise QuorumError("'params' must be an object of training parameters, e.g. {\"epochs\": 3}.")
    if params and "\\u0000" in json.dumps(params):
        raise QuorumError("'params' must not contain NUL characters (\\u0000).")
    labels = list(project.labels.all())
    if len(labels) < 2:
        raise QuorumError("The project needs at least two labels before predictions can be uploaded.")
    parsed = _validate(project, rows, [lab.name for lab in labels])
    proba = np.array([p for _, p, _ in parsed], dtype=np.float64)
    top = proba.argmax(axis=1)
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                project=project, name=name, origin=ModelVersion.Origin.UPLOADED, algorithm="uploaded",
                params=params or {}, metrics={"classes": [lab.name for lab in labels]})
            Prediction.objects.bulk_create([
                Prediction(model_version=version, item_id=item, probabilities=p, embedding=emb)
                for item, p, emb in parsed], batch_size=BATCH)
            _update_items(parsed, labels, top, proba)
            _rank(version, len(parsed))
    except IntegrityError as exc:
        raise Conflict(f"Model version {name!r} already exists in {project.name}; upload under a new name.") from exc
    tracking.log_model_version(version)
    return version


def _rank(version: ModelVersion, n_rows: int) -> None:
    if n_rows <= ranking.chunk_size():
        ranking.rank_inline(version)
        return
    job = jobs.create_job(project=version.project, kind=RANK, params={"model_version": version.pk})
    jobs.enqueue_job(job)


def _update_items(parsed, labels, top, proba) -> None:
    """Each item's pre-label (its rank row) follows the upload; the item's updated_at too, as incremental sync
    reads it (bulk_update skips auto_now)."""
    position = {item: n for n, (item, _, _) in enumerate(parsed)}
    ids = list(position)
    now = timezone.now()
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        ranks = list(ItemRank.objects.filter(pk__in=batch).only("pk"))
        for rank in ranks:
            n = position[rank.pk]
            rank.predicted_label = labels[int(top[n])]
            rank.predicted_confidence = float(proba[n, top[n]])
        ItemRank.objects.bulk_update(ranks, ["predicted_label", "predicted_confidence"])
        Item.objects.filter(pk__in=batch).update(updated_at=now)
