"""Train a classifier on the labeled items and predict every item, with out-of-fold probabilities."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

MIN_LABELS = 10


class NotEnoughLabels(ValueError):
    """Raised when the labeled set is too small or has a single class."""


@dataclass
class TrainResult:
    algorithm: str
    params: dict
    n_train: int
    cv_accuracy: float
    oof_proba: np.ndarray  # (n_labeled, n_classes), out-of-fold, aligned with the labeled rows
    proba: np.ndarray | None  # (n_items, n_classes), from the model refit on all labels; None if not asked
    classes: np.ndarray  # class indices the model saw, shape (n_seen,): its predict_proba columns
    extra: dict = field(default_factory=dict)
    model: object = None  # the estimator refit on all labels; predict_proba_full(model, classes, X, n) uses it


DENSE_C, SPARSE_C = 0.05, 5.0  # strong regularisation on standardised pixels resists label noise


def make_model(X, random_state: int = 0):
    """Logistic regression; dense input is standardised first."""
    if sparse.issparse(X):
        return LogisticRegression(max_iter=1000, C=SPARSE_C, random_state=random_state)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=DENSE_C, random_state=random_state))


def _expand(proba: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    """Place columns for the classes a model saw into a (n, n_classes) array; unseen classes get 0."""
    full = np.zeros((proba.shape[0], n_classes), dtype=np.float64)
    full[:, seen] = proba
    return full


def out_of_fold_proba(X, y: np.ndarray, n_classes: int, *, n_splits: int = 5, random_state: int = 0) -> np.ndarray:
    """K-fold out-of-fold class probabilities for labeled rows ``X``, ``y`` (ints in [0, n_classes)).

    Returns shape (len(y), n_classes). Folds are stratified; K shrinks when a class has fewer rows.
    """
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes)
    k = int(min(n_splits, counts[counts > 0].min())) if len(y) else 0
    k = max(k, 2)
    oof = np.zeros((len(y), n_classes))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        seen = np.unique(y[train_idx])
        if len(seen) == 1:
            oof[np.ix_(test_idx, seen)] = 1.0
            continue
        model = make_model(X, random_state).fit(X[train_idx], y[train_idx])
        oof[test_idx] = _expand(model.predict_proba(X[test_idx]), seen, n_classes)
    return oof


def row_stable_proba(model, X) -> np.ndarray:
    """``model.predict_proba(X)`` computed so each row's result does not depend on the other rows.

    BLAS matrix products round differently with the number of rows once features are wide (hundreds of
    columns), so a queue ranked in chunks would differ in the last bit from one ranked whole. For (scaled)
    logistic regression on dense input the scores come from einsum's plain per-row loops instead.
    """
    steps = model.steps if isinstance(model, Pipeline) else [("model", model)]
    final = steps[-1][1]
    if sparse.issparse(X) or not isinstance(final, LogisticRegression):
        return model.predict_proba(X)
    Z = X
    for _, step in steps[:-1]:
        Z = step.transform(Z)
    scores = np.einsum("ij,kj->ik", np.asarray(Z, dtype=np.float64), final.coef_.astype(np.float64)) + final.intercept_
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.column_stack([1.0 - positive, positive])
    return softmax(scores, axis=1)


def predict_proba_full(model, seen: np.ndarray, X, n_classes: int) -> np.ndarray:
    """Class probabilities (n_rows, n_classes) of a fitted model for rows ``X``; unseen classes get 0."""
    return _expand(row_stable_proba(model, X), np.asarray(seen), n_classes)


def train_and_predict(X, y: np.ndarray, labeled_idx: np.ndarray, n_classes: int, *, random_state: int = 0,
                      predict_all: bool = True) -> TrainResult:
    """Train on rows ``labeled_idx`` of ``X`` with labels ``y`` and predict all rows of ``X``.

    ``y`` has one int label per entry of ``labeled_idx``. Raises NotEnoughLabels when there are fewer than
    MIN_LABELS labels or a single class. With ``predict_all=False`` the rows are left to the caller
    (``proba`` is None), who predicts them chunk by chunk with ``result.model``.
    """
    y = np.asarray(y, dtype=int)
    labeled_idx = np.asarray(labeled_idx, dtype=int)
    if len(y) < MIN_LABELS:
        raise NotEnoughLabels(f"need at least {MIN_LABELS} labels to train, have {len(y)}")
    seen = np.unique(y)
    if len(seen) < 2:
        raise NotEnoughLabels("need labels from at least two classes to train")
    X_lab = X[labeled_idx]
    oof = out_of_fold_proba(X_lab, y, n_classes, random_state=random_state)
    cv_accuracy = float((oof.argmax(axis=1) == y).mean())
    model = make_model(X, random_state).fit(X_lab, y)
    proba = predict_proba_full(model, seen, X, n_classes) if predict_all else None
    return TrainResult(
        algorithm="logistic_regression",
        params={"C": SPARSE_C if sparse.issparse(X) else DENSE_C, "max_iter": 1000, "scaled": not sparse.issparse(X)},
        n_train=len(y),
        cv_accuracy=cv_accuracy,
        oof_proba=oof,
        proba=proba,
        classes=seen,
        model=model,
    )
