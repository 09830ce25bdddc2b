"""How far to trust model confidence: calibration error, per-class scores, auto-accept threshold, temperature."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import precision_recall_fscore_support


def _check_proba_y(proba, y) -> tuple[np.ndarray, np.ndarray]:
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y).astype(int, copy=False).ravel()
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"proba must have shape (n_items, n_classes>=2), got {proba.shape}")
    if len(proba) != len(y):
        raise ValueError(f"{len(y)} labels but {len(proba)} probability rows")
    if len(y) == 0:
        raise ValueError("need at least one item")
    if y.min() < 0 or y.max() >= proba.shape[1]:
        raise ValueError(f"labels must be ints in [0, {proba.shape[1]})")
    return proba, y


def ece(proba, y, n_bins: int = 10) -> float:
    """Expected calibration error of the top-class confidence, in [0, 1].

    ``proba``: (n_items, n_classes); ``y``: (n_items,) true labels. Confidences fall in ``n_bins``
    equal-width bins (lo, hi] (the first also takes 0); ECE = sum over bins of
    (bin size / n) * |accuracy in bin - mean confidence in bin|.
    """
    proba, y = _check_proba_y(proba, y)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total / len(y))


def per_class_report(y_true, y_pred, *, labels=None) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class, each shape (n_labels,); empty classes score 0.

    Wraps sklearn.metrics.precision_recall_fscore_support; ``labels`` defaults to the sorted union of
    ``y_true`` and ``y_pred``.
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if labels is None:
        labels = np.union1d(y_true, y_pred)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {"labels": np.asarray(labels), "precision": p, "recall": r, "f1": f, "support": s}


def wilson_lower_bound(n_correct, n, z: float) -> np.ndarray:
    """Lower end of the Wilson score interval for a proportion; equals n_correct / n when z is 0."""
    n_correct, n = np.asarray(n_correct, dtype=float), np.asarray(n, dtype=float)
    p = n_correct / n
    denom = 1 + z**2 / n
    centre = p + z**2 / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - spread) / denom


def auto_accept_threshold(confidence, correct, target_precision: float, *, min_support: int = 30, z: float = 0.0):
    """Lowest confidence threshold t whose items with confidence >= t reach ``target_precision``.

    ``confidence``: (n,) model confidence on held-out human-labeled items (out-of-fold predictions);
    ``correct``: (n,) bools, the prediction matched the human label. Only thresholds with at least
    ``min_support`` items at or above them count, and precision is measured as the Wilson lower bound
    with ``z`` (z=0 is plain precision; z=1.645 asks for 95% one-sided confidence). Returns the
    threshold as a float (one of the observed confidences), or None when no threshold qualifies.
    """
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=bool).ravel()
    if len(confidence) != len(correct):
        raise ValueError(f"{len(confidence)} confidences but {len(correct)} correctness flags")
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    if min_support < 1 or z < 0:
        raise ValueError("min_support must be >= 1 and z >= 0")
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], np.cumsum(correct[order])
    # A threshold equal to a confidence accepts every tied item, so evaluate at the last of each tie run.
    last_of_run = np.r_[conf[1:] != conf[:-1], True]
    n_above = np.arange(1, len(conf) + 1)
    ok = last_of_run & (n_above >= min_support)
    ok &= wilson_lower_bound(hits, n_above, z) >= target_precision - 1e-12
    if not ok.any():
        return None
    return float(conf[np.flatnonzero(ok)[-1]])


def fit_temperature(proba, y) -> float:
    """Temperature T > 0 minimising the log-loss of softmax(log(proba) / T) on labeled rows.

    ``proba``: (n_items, n_classes) out-of-fold probabilities; ``y``: (n_items,) human labels.
    T > 1 softens an overconfident model, T < 1 sharpens an underconfident one.
    """
    proba, y = _check_proba_y(proba, y)
    logp = np.log(np.clip(proba, 1e-12, 1.0))

    def loss(log_t: float) -> float:
        return -apply_temperature_log(logp, np.exp(log_t))[np.arange(len(y)), y].mean()

    result = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def apply_temperature_log(logp: np.ndarray, temperature: float) -> np.ndarray:
    """Log-probabilities after temperature scaling, shape as ``logp``."""
    z = logp / temperature
    z -= z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def apply_temperature(proba, temperature: float) -> np.ndarray:
    """Probabilities softmax(log(proba) / temperature), shape (n_items, n_classes)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logp = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0))
    return np.exp(apply_temperature_log(logp, temperature))


# Auto-accept defaults shared by the product (learning.autoaccept) and bench/active_learning.py: a threshold
# needs 30 held-out items at or above it, and their precision is the Wilson lower bound at z=1 (about 84%
# one-sided confidence), so a threshold that meets the target only by luck on a few items is not picked.
AUTO_ACCEPT_MIN_SUPPORT = 30
AUTO_ACCEPT_Z = 1.0


@dataclass(frozen=True)
class AutoAcceptFit:
    """What fit_auto_accept measured on the held-out labels.

    ``threshold``: on the temperature-scaled top-class confidence, None when no threshold reaches the
    target; ``n_above`` / ``precision_above``: held-out items at or above it and their plain precision.
    """

    threshold: float | None
    temperature: float
    n_heldout: int
    n_above: int
    precision_above: float | None


def fit_auto_accept(oof_proba, y, target_precision: float, *, min_support: int = AUTO_ACCEPT_MIN_SUPPORT,
                    z: float = AUTO_ACCEPT_Z, calibrate: bool = True) -> AutoAcceptFit:
    """Calibrate on held-out human labels, then pick the auto-accept threshold for ``target_precision``.

    ``oof_proba``: (n_items, n_classes) out-of-fold probabilities of items the model did not train on;
    ``y``: (n_items,) their human labels. With ``calibrate``, a temperature is fitted (fit_temperature) and
    the threshold is chosen on calibrated confidences (auto_accept_threshold), so the threshold reads as a
    probability; apply it to new items with accept_confidence(proba, fit.temperature).
    """
    proba, y = _check_proba_y(oof_proba, y)
    temperature = fit_temperature(proba, y) if calibrate else 1.0
    calibrated = apply_temperature(proba, temperature) if temperature != 1.0 else proba
    confidence = calibrated.max(axis=1)
    correct = calibrated.argmax(axis=1) == y
    threshold = auto_accept_threshold(confidence, correct, target_precision, min_support=min_support, z=z)
    if threshold is None:
        return AutoAcceptFit(None, temperature, len(y), 0, None)
    above = confidence >= threshold
    return AutoAcceptFit(threshold, temperature, len(y), int(above.sum()), float(correct[above].mean()))


def accept_confidence(proba, temperature: float) -> np.ndarray:
    """(n_items,) top-class confidence after temperature scaling: what is compared with the threshold."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or len(proba) == 0:
        return np.zeros(len(proba) if proba.ndim else 0)
    return (apply_temperature(proba, temperature) if temperature != 1.0 else proba).max(axis=1)
