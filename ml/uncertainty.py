"""Uncertainty scores for active learning: higher means the model is less sure."""
from __future__ import annotations

import numpy as np

STRATEGIES = ("least_confidence", "margin", "entropy", "random", "sequential")


def _check(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"proba must have shape (n_items, n_classes>=2), got {proba.shape}")
    return proba


def least_confidence(proba: np.ndarray) -> np.ndarray:
    """1 - max probability, shape (n_items,)."""
    return 1.0 - _check(proba).max(axis=1)


def margin(proba: np.ndarray) -> np.ndarray:
    """1 - (top1 - top2), shape (n_items,)."""
    part = np.sort(_check(proba), axis=1)
    return 1.0 - (part[:, -1] - part[:, -2])


def entropy(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy normalised to [0, 1], shape (n_items,)."""
    p = np.clip(_check(proba), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])


def sequential(proba: np.ndarray) -> np.ndarray:
    """Baseline that ignores the model: earlier rows score higher, shape (n_items,), values in (0, 1]."""
    n = len(_check(proba))
    return 1.0 - np.arange(n) / n


def scores(proba: np.ndarray, strategy: str = "margin", *, random_state: int = 0) -> np.ndarray:
    """Uncertainty score per item for ``strategy`` (one of STRATEGIES), shape (n_items,).

    ``proba`` has shape (n_items, n_classes). "random" draws uniform scores from ``random_state``;
    "sequential" ranks items in row order.
    """
    if strategy == "random":
        return np.random.default_rng(random_state).random(len(_check(proba)))
    funcs = {"least_confidence": least_confidence, "margin": margin, "entropy": entropy, "sequential": sequential}
    if strategy not in funcs:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    return funcs[strategy](proba)
