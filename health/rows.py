"""What every data-health check reads and writes: the project's items as aligned arrays, and finding records."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.models import Item, Project
from health.models import Finding

CHUNK = 5000
Progress = Callable[[int, str], None]


@dataclass
class Rows:
    """The project's items as aligned arrays, in id order."""

    ids: np.ndarray
    label: np.ndarray  # final label order, -1 when unlabeled
    given: np.ndarray  # given label order, -1 when none
    predicted: np.ndarray  # predicted label order, -1 when none
    excluded: np.ndarray
    quality: list[float]
    metadata: list[dict]
    content: list[str]  # text, or the image's storage name
    position: dict[int, int] = field(default_factory=dict)


def load_rows(project: Project, order: dict[int, int]) -> Rows:
    """The project's items, read in chunks; ``order`` maps a label id to its position."""
    qs = (Item.objects.filter(project=project).order_by("id")
          .values_list("id", "final_label_id", "given_label_id", "rank__predicted_label_id", "excluded", "label_quality",
                       "metadata", "text" if not project.is_image else "image"))
    ids, label, given, predicted, excluded, quality, metadata, content = [], [], [], [], [], [], [], []
    for pk, final, giv, pred, exc, q, meta, body in qs.iterator(chunk_size=CHUNK):
        ids.append(pk)
        label.append(order.get(final, -1))
        given.append(order.get(giv, -1))
        predicted.append(order.get(pred, -1))
        excluded.append(exc)
        if q is not None:
            quality.append(q)
        metadata.append(meta or {})
        content.append(body or "")
    ids_arr = np.array(ids, dtype=np.int64)
    return Rows(ids=ids_arr, label=np.array(label, dtype=int), given=np.array(given, dtype=int),
                predicted=np.array(predicted, dtype=int), excluded=np.array(excluded, dtype=bool), quality=quality,
                metadata=metadata, content=content, position={int(i): n for n, i in enumerate(ids)})


def add_finding(findings: list, *, check: str, key: str | None = None, severity: str, title: str, rows,
                ids: np.ndarray, explanation: str, rule: str = "", count: int | None = None,
                params: dict | None = None) -> None:
    """Append a finding about the items at positions ``rows`` of ``ids``, unless it would be empty.

    ``rule``: the one line that says when an item is reported (shown as "Rule: ..." with the finding)."""
    item_ids = [int(ids[r]) for r in rows]
    if not item_ids and not count:
        return
    params = dict(params or {})
    if rule:
        params["rule"] = rule
    findings.append({"check_name": check, "key": key or check, "severity": severity, "title": title,
                     "count": count if count is not None else len(item_ids), "explanation": explanation,
                     "item_ids": item_ids[:Finding.ITEM_CAP], "params": params})


def plural(k: int, word: str) -> str:
    """"1 group", "3 groups"."""
    return f"{k:,} {word}{'' if k == 1 else 's'}"


def json_float(x):
    """A float for a JSON report: rounded, and None for NaN or infinity."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return None
    return round(float(x), 4)
