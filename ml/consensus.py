"""Combine several annotators' labels for one item into a consensus label with a confidence."""
from __future__ import annotations

import numpy as np


def majority_vote(votes: list[int], n_classes: int) -> tuple[int, float]:
    """Return (label, confidence) for one item's votes; confidence is the winning share.

    Ties go to the lowest class index, so the result is deterministic.
    """
    if not votes:
        raise ValueError("majority_vote needs at least one vote")
    counts = np.bincount(np.asarray(votes, dtype=int), minlength=n_classes)
    label = int(counts.argmax())
    return label, float(counts[label] / counts.sum())
