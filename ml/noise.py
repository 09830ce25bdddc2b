"""Find likely mislabels from out-of-fold probabilities (confident learning)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LabelIssue:
    index: int  # row in the labeled arrays
    given: int
    suggested: int
    score: float  # 1 - self-confidence of the given label: higher means more likely wrong
    confidence: float  # model probability of the suggested label


def find_label_issues(labels: np.ndarray, oof_proba: np.ndarray) -> list[LabelIssue]:
    """Flag rows whose given label the out-of-fold model confidently rejects, most suspicious first.

    ``labels``: (n,) ints; ``oof_proba``: (n, n_classes) out-of-fold probabilities.
    Uses cleanlab's confident-learning filter, ranked by self-confidence.
    """
    from cleanlab.filter import find_label_issues as cl_find

    labels = np.asarray(labels, dtype=int)
    proba = np.asarray(oof_proba, dtype=np.float64)
    if len(labels) != len(proba):
        raise ValueError(f"{len(labels)} labels but {len(proba)} probability rows")
    if len(labels) == 0:
        return []
    present = np.unique(labels)
    if len(present) < 2:
        return []
    # cleanlab needs every class column to appear in the labels; restrict to present classes.
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    remap = {c: i for i, c in enumerate(present)}
    sub_labels = np.array([remap[c] for c in labels])
    idx = cl_find(labels=sub_labels, pred_probs=sub, return_indices_ranked_by="self_confidence")
    issues = []
    for i in idx:
        suggested = int(present[sub[i].argmax()])
        issues.append(LabelIssue(
            index=int(i), given=int(labels[i]), suggested=suggested,
            score=float(1.0 - sub[i, sub_labels[i]]), confidence=float(sub[i].max()),
        ))
    return issues
