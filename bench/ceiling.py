"""What any flagging rule could reach: the best cut-off on a ranking of rows, chosen knowing which labels are wrong.

A mislabel search ranks labels by how strongly a model contradicts them and flags the top of that list. Given
the truth, the best possible cut-off on that ranking bounds every rule over the same model's probabilities
(cleanlab's filter, Quorum's search, a threshold learnt from reviewers' verdicts). Run on a model trained on the
*true* labels (which no product has), it bounds what those features and that model family can do at all. Both
benchmarks report these ceilings next to the targets, so a missed target says whether the rule or the model is
short.
"""
from __future__ import annotations

import numpy as np


def _ranked_hits(scores: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """Cumulative count of wrong labels down the ranking, strongest contradiction first (ties in row order)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    return np.cumsum(np.asarray(wrong, dtype=bool)[order])


def best_cutoff_f1(scores, wrong) -> float:
    """The highest F1 of flagging the top k rows by ``scores``, over every k (0.0 when nothing is wrong)."""
    wrong = np.asarray(wrong, dtype=bool)
    if not wrong.any() or len(wrong) == 0:
        return 0.0
    hits = _ranked_hits(scores, wrong)
    flagged = np.arange(1, len(hits) + 1)
    return float((2 * hits / (flagged + wrong.sum())).max())


def best_recall_at_precision(scores, wrong, precision: float) -> float:
    """The highest recall of flagging the top k rows by ``scores`` whose precision is at least ``precision``
    (1.0 when nothing is wrong; 0.0 when no cut-off reaches that precision)."""
    wrong = np.asarray(wrong, dtype=bool)
    if not wrong.any():
        return 1.0
    hits = _ranked_hits(scores, wrong)
    ok = hits / np.arange(1, len(hits) + 1) >= precision - 1e-12
    return float(hits[ok].max() / wrong.sum()) if ok.any() else 0.0
