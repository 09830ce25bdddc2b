"""Inter-annotator agreement statistics: percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha.

Every function takes an annotation matrix of shape (n_items, n_annotators) holding class indices
(ints >= 0), with -1 where an annotator did not label an item (see ``ml.consensus.to_matrix``).
"""
from __future__ import annotations

import numpy as np

MISSING = -1


def disagreement(votes: list[int]) -> bool:
    """True when an item's votes are not all the same label."""
    return len(set(votes)) > 1


def _check_matrix(annotations) -> np.ndarray:
    """Return ``annotations`` as a 2-D int array or raise a ValueError saying what is wrong."""
    matrix = np.asarray(annotations)
    if matrix.ndim != 2:
        raise ValueError(f"annotations must be 2-D (n_items, n_annotators), got shape {matrix.shape}")
    if matrix.size and not np.issubdtype(matrix.dtype, np.integer):
        if not np.all(np.equal(np.mod(matrix, 1), 0)):
            raise ValueError("annotations must hold integer class indices, with -1 for missing")
        matrix = matrix.astype(int)
    if matrix.size and matrix.min() < MISSING:
        raise ValueError("annotations hold class indices >= 0, or -1 for missing; found a value below -1")
    return matrix.astype(int, copy=False)


def item_counts(annotations, n_classes: int | None = None) -> np.ndarray:
    """Votes per class for every item, shape (n_items, n_classes); missing entries are not counted."""
    matrix = _check_matrix(annotations)
    if n_classes is None:
        n_classes = int(matrix.max()) + 1 if matrix.size and matrix.max() >= 0 else 0
    counts = np.zeros((matrix.shape[0], n_classes), dtype=np.int64)
    rows, cols = np.nonzero(matrix >= 0)
    np.add.at(counts, (rows, matrix[rows, cols]), 1)
    return counts


def pairwise_percent_agreement(matrix: np.ndarray) -> float:
    """Share of agreeing annotator pairs over items; ``matrix`` is (n_items, n_annotators), -1 = missing."""
    counts = item_counts(matrix)
    n = counts.sum(axis=1)
    total = (n * (n - 1) // 2).sum()
    agree = (counts * (counts - 1) // 2).sum()
    return float(agree / total) if total else float("nan")


def cohen_kappa(a, b) -> float:
    """Cohen's kappa between two annotators' labels (n_items,) over the items both labelled.

    Returns nan when they share no item or when chance agreement is 1 (both used one and the same
    class throughout), as scikit-learn's ``cohen_kappa_score`` does.
    """
    a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in shape: {a.shape} vs {b.shape}")
    both = (a >= 0) & (b >= 0)
    a, b = a[both], b[both]
    if len(a) == 0:
        return float("nan")
    k = int(max(a.max(), b.max())) + 1
    observed = np.mean(a == b)
    expected = np.dot(np.bincount(a, minlength=k), np.bincount(b, minlength=k)) / len(a) ** 2
    if expected == 1.0:
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def pairwise_cohen_kappa(annotations) -> np.ndarray:
    """Cohen's kappa for every annotator pair, shape (n_annotators, n_annotators); diagonal is 1.

    A pair that shares no item gets nan.
    """
    matrix = _check_matrix(annotations)
    m = matrix.shape[1]
    kappas = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            kappas[i, j] = kappas[j, i] = cohen_kappa(matrix[:, i], matrix[:, j])
    return kappas


def fleiss_kappa(annotations, n_classes: int | None = None) -> float:
    """Fleiss' kappa over items with at least two labels.

    Items may have different numbers of labels: per-item agreement uses that item's own count, and the
    class shares are pooled over all labels (equal to the textbook formula when every item has the same
    number of raters).
    """
    counts = item_counts(annotations, n_classes)
    n = counts.sum(axis=1)
    counts, n = counts[n >= 2], n[n >= 2]
    if len(n) == 0:
        return float("nan")
    p_item = ((counts * (counts - 1)).sum(axis=1) / (n * (n - 1))).mean()
    shares = counts.sum(axis=0) / n.sum()
    p_chance = float((shares**2).sum())
    if p_chance == 1.0:
        return float("nan")
    return float((p_item - p_chance) / (1.0 - p_chance))


def _alpha_from_counts(counts: np.ndarray) -> float:
    """Nominal Krippendorff's alpha from per-item class counts (n_items, n_classes)."""
    n_item = counts.sum(axis=1)
    counts, n_item = counts[n_item >= 2], n_item[n_item >= 2]
    total = n_item.sum()
    if total == 0:
        return float("nan")
    # Coincidence matrix: o[c, k] = sum over items of n_c * (n_k - [c == k]) / (n_item - 1).
    weights = 1.0 / (n_item - 1)
    coincidence = (counts * weights[:, None]).T @ counts - np.diag((counts * weights[:, None]).sum(axis=0))
    n_c = coincidence.sum(axis=1)
    observed = 1.0 - np.trace(coincidence) / total
    expected = 1.0 - (n_c * (n_c - 1)).sum() / (total * (total - 1))
    if expected == 0.0:
        return float("nan")
    return float(1.0 - observed / expected)


def krippendorff_alpha(annotations, n_classes: int | None = None) -> float:
    """Krippendorff's alpha for nominal labels over items with at least two labels."""
    return _alpha_from_counts(item_counts(annotations, n_classes))


def krippendorff_alpha_per_class(annotations, n_classes: int) -> np.ndarray:
    """One-vs-rest nominal alpha per class, shape (n_classes,): how reliably annotators agree on "is it c?".

    A class nobody used gets nan.
    """
    counts = item_counts(annotations, n_classes)
    n_item = counts.sum(axis=1, keepdims=True)
    alphas = np.full(n_classes, np.nan)
    for c in range(n_classes):
        if counts[:, c].sum() == 0:
            continue
        binary = np.hstack([counts[:, [c]], n_item - counts[:, [c]]])
        alphas[c] = _alpha_from_counts(binary)
    return alphas


def agreement_report(annotations, n_classes: int) -> dict:
    """All project-level agreement figures in one dict (for a dashboard or an export)."""
    matrix = _check_matrix(annotations)
    return {
        "n_items": int(matrix.shape[0]),
        "n_annotators": int(matrix.shape[1]),
        "percent_agreement": pairwise_percent_agreement(matrix),
        "fleiss_kappa": fleiss_kappa(matrix, n_classes),
        "krippendorff_alpha": krippendorff_alpha(matrix, n_classes),
        "krippendorff_alpha_per_class": krippendorff_alpha_per_class(matrix, n_classes).tolist(),
        "cohen_kappa_pairs": pairwise_cohen_kappa(matrix).tolist(),
    }
