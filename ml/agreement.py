"""Inter-annotator agreement statistics."""
from __future__ import annotations

import numpy as np


def disagreement(votes: list[int]) -> bool:
    """True when an item's votes are not all the same label."""
    return len(set(votes)) > 1


def pairwise_percent_agreement(matrix: np.ndarray) -> float:
    """Share of agreeing annotator pairs over items; ``matrix`` is (n_items, n_annotators), -1 = missing."""
    agree = total = 0
    for row in np.asarray(matrix):
        vals = row[row >= 0]
        n = len(vals)
        if n < 2:
            continue
        counts = np.bincount(vals)
        agree += int((counts * (counts - 1)).sum() // 2)
        total += n * (n - 1) // 2
    return agree / total if total else float("nan")
