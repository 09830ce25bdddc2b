"""Find likely mislabels from out-of-fold probabilities (confident learning) and explain each one.

Entry points:

* ``search_mislabels(X, labels, n_classes, slices=..., settled=...)``: what the product runs after every
  retrain: cleanlab's filter (also per noisier slice) plus confident contradictions it misses, settled
  flags kept quiet unless the evidence grows much stronger; after a reviewed round, the reviewers' verdicts
  set how strong a contradiction must be (``verdict_threshold``);
* ``detect_mislabels(X, labels, n_classes)``: fits the out-of-fold ensemble itself, then cleanlab's filter.
* ``find_label_issues(labels, oof_proba, features=None)``: when the caller already has out-of-fold
  probabilities (for example uploaded predictions).

Probabilities are always out-of-fold (K-fold), never in-sample: an in-sample model memorises the wrong
labels it should be catching. The flagging rule is cleanlab's confident learning (per-class thresholds
from the confident joint, pruned by estimated noise rate); what Quorum adds is a better probability
estimate (an ensemble of a calibrated RBF SVM, an RBF-kernel logistic regression, k-nearest neighbours and
a linear logistic regression, which on ``bench/label_quality.py`` lifts mean F1 by about 10% over 5-fold
logistic regression) and a reason per flag built from the model and the item's nearest neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

N_NEIGHBOURS = 5


@dataclass
class LabelIssue:
    index: int  # row in the labeled arrays
    given: int
    suggested: int
    score: float  # 1 - self-confidence of the given label: higher means more likely wrong
    confidence: float  # model probability of the suggested label
    neighbours: tuple[int, ...] = ()  # rows of the nearest other items, closest first (empty without features)
    neighbours_agreeing: int = 0  # how many of those carry the suggested label
    reason_parts: dict = field(default_factory=dict)  # the facts ``explain`` turns into text


def _check(labels, oof_proba) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    proba = np.asarray(oof_proba, dtype=np.float64)
    if labels.ndim != 1 or proba.ndim != 2:
        raise ValueError(f"labels must be (n,) and oof_proba (n, n_classes); got {labels.shape} and {proba.shape}")
    if len(labels) != len(proba):
        raise ValueError(f"{len(labels)} labels but {len(proba)} probability rows")
    if len(labels) and (labels.min() < 0 or labels.max() >= proba.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {proba.shape[1]})")
    return labels.astype(int), proba


def _present_classes(labels: np.ndarray, proba: np.ndarray):
    """Restrict to the classes present in ``labels`` (cleanlab needs every column used), renormalised."""
    present = np.unique(labels)
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    return present, sub, np.searchsorted(present, labels)


def label_quality_scores(labels, oof_proba) -> np.ndarray:
    """Label-quality score in [0, 1] for every row, shape (n,): the out-of-fold probability of the given
    label (cleanlab's self-confidence). Low means the label is likely wrong; sort ascending to review.
    """
    labels, proba = _check(labels, oof_proba)
    return proba[np.arange(len(labels)), labels]


def estimate_noise_rate(labels, oof_proba) -> float:
    """Estimated share of wrong labels in the data set, from cleanlab's calibrated confident joint."""
    from cleanlab.count import estimate_joint

    labels, proba = _check(labels, oof_proba)
    if len(np.unique(labels)) < 2:
        return 0.0
    _, sub, sub_labels = _present_classes(labels, proba)
    joint = estimate_joint(labels=sub_labels, pred_probs=sub)
    return float(1.0 - np.trace(joint))


def wrong_label_estimate(labels, oof_proba) -> dict:
    """What the model card says about wrong labels: a low and a high estimate, as counts of ``labels``.

    Low: cleanlab's confident joint (``estimate_noise_rate``), labels the model confidently contradicts. Right
    when the wrong labels are clear; after reviewers fixed the clear ones, the wrong labels left are the ones
    the model is unsure of, and this figure falls to 0.4-0.5x of the truth (``bench.features``, round 2). High:
    every label the out-of-fold model disagrees with, its own mistakes included (1 - cross-validated accuracy).
    Returns ``estimated_noise_rate``, ``estimated_wrong_labels``, ``model_disagreements``, ``n_labels``.
    """
    labels, proba = _check(labels, oof_proba)
    rate = estimate_noise_rate(labels, proba)
    return {"estimated_noise_rate": round(rate, 4), "estimated_wrong_labels": int(round(rate * len(labels))),
            "model_disagreements": int((proba.argmax(axis=1) != labels).sum()), "n_labels": int(len(labels))}


def nearest_neighbours(features, n_neighbours: int = N_NEIGHBOURS) -> np.ndarray:
    """Rows of each row's nearest other rows in standardised feature space, shape (n, n_neighbours)."""
    X = features if sparse.issparse(features) else StandardScaler().fit_transform(np.asarray(features, float))
    k = min(n_neighbours, X.shape[0] - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return idx[:, 1:]  # drop the row itself


def find_label_issues(labels, oof_proba, *, features=None, n_neighbours: int = N_NEIGHBOURS) -> list[LabelIssue]:
    """Flag rows whose given label the out-of-fold model confidently rejects, most suspicious first.

    ``labels``: (n,) ints; ``oof_proba``: (n, n_classes) out-of-fold probabilities; ``features``:
    optional (n, n_features) array, used only to report each flagged row's nearest neighbours.
    Uses cleanlab's confident-learning filter with default arguments, ranked by self-confidence.
    """
    from cleanlab.filter import find_label_issues as cl_find

    labels, proba = _check(labels, oof_proba)
    if len(labels) == 0 or len(np.unique(labels)) < 2:
        return []
    present, sub, sub_labels = _present_classes(labels, proba)
    # n_jobs=1: prefork Celery workers are daemonic processes, which may not start the pool cleanlab would.
    idx = cl_find(labels=sub_labels, pred_probs=sub, return_indices_ranked_by="self_confidence", n_jobs=1)
    neighbours = nearest_neighbours(features, n_neighbours) if features is not None and len(labels) > 1 else None
    return [_issue(int(i), labels, present, sub, sub_labels, neighbours) for i in idx]


def _issue(i, labels, present, sub, sub_labels, neighbours) -> LabelIssue:
    suggested = int(present[sub[i].argmax()])
    issue = LabelIssue(
        index=i, given=int(labels[i]), suggested=suggested,
        score=float(1.0 - sub[i, sub_labels[i]]), confidence=float(sub[i].max()),
    )
    if neighbours is not None:
        issue.neighbours = tuple(int(j) for j in neighbours[i])
        issue.neighbours_agreeing = int((labels[neighbours[i]] == suggested).sum())
    issue.reason_parts = {
        "given": issue.given, "suggested": suggested, "model_confidence": round(issue.confidence, 2),
        "neighbours_agreeing": issue.neighbours_agreeing, "n_neighbours": len(issue.neighbours),
    }
    return issue


def explain(issue: LabelIssue, class_names=None) -> str:
    """One line a reviewer reads at a glance, e.g. "given 8; model says 3 (0.94); 4 of 5 nearest neighbours are 3".

    ``class_names``: optional sequence mapping class index to a display name.
    """
    def name(c):
        return str(class_names[c]) if class_names is not None else str(c)

    parts = [f"given {name(issue.given)}", f"model says {name(issue.suggested)} ({issue.confidence:.2f})"]
    if issue.neighbours:
        parts.append(f"{issue.neighbours_agreeing} of {len(issue.neighbours)} nearest neighbours are {name(issue.suggested)}")
    return "; ".join(parts)


def _ensemble_members(X, n_train: int, random_state: int) -> list:
    """The models averaged by ``ensemble_oof_proba``; sparse input gets logistic regression alone."""
    if sparse.issparse(X):
        return [LogisticRegression(max_iter=1000, random_state=random_state)]
    n_components = max(2, min(300, n_train // 2))
    return [
        make_pipeline(StandardScaler(), CalibratedClassifierCV(SVC(), method="temperature", ensemble=False)),
        make_pipeline(StandardScaler(), Nystroem(n_components=n_components, random_state=random_state),
                      LogisticRegression(max_iter=500, random_state=random_state)),
        make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=10, weights="distance")),
        # a linear model next to the kernel ones: on many weak features (image descriptors) it is the most
        # accurate member, and it lifts bench.label_quality's F1 too (scikit-learn's default C)
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=random_state)),
    ]


def ensemble_oof_proba(X, labels, n_classes: int, *, n_splits: int = 5, random_state: int = 0) -> np.ndarray:
    """Out-of-fold probabilities averaged over an RBF SVM, RBF-kernel LR, kNN and linear LR, shape (n, n_classes).

    Folds are stratified; K shrinks when a class has fewer rows (minimum 2). Classes absent from a
    training fold get probability 0.
    """
    labels = np.asarray(labels, dtype=int)
    if X.shape[0] != len(labels):
        raise ValueError(f"X has {X.shape[0]} rows but there are {len(labels)} labels")
    counts = np.bincount(labels, minlength=n_classes)
    k = max(2, int(min(n_splits, counts[counts > 0].min())))
    oof = np.zeros((len(labels), n_classes))
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state).split(X, labels):
        oof[test] = _fold_proba(X, labels, train, test, n_classes, random_state)
    return oof


def _fold_proba(X, labels, train, test, n_classes, random_state) -> np.ndarray:
    seen = np.unique(labels[train])
    out = np.zeros((len(test), n_classes))
    if len(seen) == 1:
        out[:, seen] = 1.0
        return out
    for model in _ensemble_members(X, len(train), random_state):
        try:
            out[:, seen] += model.fit(X[train], labels[train]).predict_proba(X[test])
        except ValueError:  # e.g. too few rows per class for the calibration split: skip this member
            continue
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1), 1.0 / n_classes)


def detect_mislabels(X, labels, n_classes: int, *, n_splits: int = 5, random_state: int = 0) -> list[LabelIssue]:
    """Flag likely mislabels from features ``X`` (n, n_features) and labels (n,), most suspicious first.

    Fits the out-of-fold ensemble (``ensemble_oof_proba``) and runs ``find_label_issues`` with the
    features, so each issue carries its nearest neighbours for ``explain``.
    """
    proba = ensemble_oof_proba(X, labels, n_classes, n_splits=n_splits, random_state=random_state)
    return find_label_issues(labels, proba, features=X)



CONTRADICT_MIN = 0.5  # the suggested class is more likely than all the others together
CONTRADICT_MARGIN = 2.0  # ... and at least twice as likely as the given label
NOISE_BUDGET = 1.0  # flags per slice: at most this many times its estimated number of wrong labels
MUCH_STRONGER = 0.25  # a settled label is flagged again only when its score rises by this much


def search_mislabels(X, labels, n_classes: int, *, slices=None, settled=None, reviewed=None, random_state: int = 0,
                     n_splits: int = 5, proba=None) -> list[LabelIssue]:
    """Every labeled row checked again with fresh out-of-fold predictions, most suspicious first.

    Two passes over the ensemble's out-of-fold probabilities (``proba`` when the caller has them):

    1. cleanlab's confident-learning filter (``find_label_issues``) with default arguments, over all rows
       and again over the rows of each slice whose estimated noise is above the whole set's;
    2. contradictions it missed: rows whose suggested class has probability >= CONTRADICT_MIN and at least
       CONTRADICT_MARGIN times the given label's, largest margin first. Per slice they fill what pass 1
       left of NOISE_BUDGET x the slice's estimated number of wrong labels (cleanlab's confident joint on
       that slice's rows), and at least one when pass 1 found nothing there: a noisier slice gets more
       flags, and a set where cleanlab's filter returns nothing still gets its clearest contradiction. With
       features, most of the row's nearest neighbours must carry the suggested label too.

    ``slices``: optional (n,) ints (e.g. a metadata field's values); ``settled``: {row: (label, score)} of
    flags a reviewer settled: such a row is not flagged again while it keeps that label, unless its score
    is now at least MUCH_STRONGER higher than when it was settled.

    ``reviewed``: optional verdicts on earlier flags, {row: (label when flagged, label changed)}. After a
    reviewed round the few wrong labels left hide among hundreds of right ones, and budgets estimated from
    scratch flag mostly right labels. The verdicts say how strongly the model must contradict a label for
    the flag to be right: with at least MIN_VERDICTS of them, both outcomes present, the search flags exactly
    the rows (not settled) whose label the model contradicts (``contradicts`` above) by a margin
    (``margins``) at or above ``verdict_threshold``, where the verdicts' isotonic precision reaches
    VERDICT_PRECISION; no cleanlab pass and no budget then. The rows a reviewer settled are trusted training
    labels: the caller's out-of-fold probabilities come from a model trained on them.
    """
    labels = np.asarray(labels, dtype=int)
    if proba is None:
        proba = ensemble_oof_proba(X, labels, n_classes, n_splits=n_splits, random_state=random_state)
    proba = np.asarray(proba, dtype=float)
    neighbours = nearest_neighbours(X) if X is not None and len(labels) > 1 else None
    present, sub, sub_labels = _present_classes(labels, proba)

    def issue(row):
        return _issue(int(row), labels, present, sub, sub_labels, neighbours)

    def keep(found):
        return found.suggested != found.given and not _settled(found, settled)

    def supported(found):  # beyond cleanlab's filter, the nearest neighbours must mostly agree with the model
        return not found.neighbours or found.neighbours_agreeing * 2 > len(found.neighbours)

    rows = np.arange(len(labels))
    given, top = proba[rows, labels], proba.max(axis=1)
    contradicts = (proba.argmax(axis=1) != labels) & (top >= CONTRADICT_MIN) & (top >= CONTRADICT_MARGIN * given)
    threshold = verdict_threshold(reviewed, proba)
    if threshold is not None:
        picked = (issue(r) for r in rows[contradicts & (margins(proba, labels) >= threshold - 1e-9)])
        return sorted((i for i in picked if keep(i) and supported(i)), key=lambda i: -i.score)
    slices = np.zeros(len(labels), dtype=int) if slices is None else np.asarray(slices)
    found = {i.index for i in find_label_issues(labels, proba)} | _noisier_slice_issues(labels, proba, slices)
    first = [i for i in (issue(r) for r in sorted(found)) if keep(i)]
    taken = {int(i.index) for i in first}
    out = list(first)
    for value in np.unique(slices):
        in_slice = slices == value
        already = sum(1 for r in taken if in_slice[r])
        room = _slice_budget(labels[in_slice], proba[in_slice]) - already
        room = max(room, 1) if already == 0 else room
        order = rows[in_slice & contradicts]
        order = order[np.argsort(-(top[order] - given[order]), kind="stable")]
        extra = [i for i in (issue(r) for r in order if int(r) not in taken) if keep(i) and supported(i)]
        out += extra[: max(room, 0)]
    return sorted(out, key=lambda i: -i.score)


VERDICT_PRECISION = 0.9  # after a reviewed round, flag only as strong as the flags that were right this often
MIN_VERDICTS = 10


def margins(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How strongly the model contradicts each label: the best other class's probability minus the label's."""
    rows = np.arange(len(labels))
    others = proba.copy()
    others[rows, labels] = -np.inf
    return others.max(axis=1) - proba[rows, labels]


def verdict_threshold(reviewed, proba) -> float | None:
    """The lowest margin (``margins``) at which the current model's contradictions of reviewed labels were
    real errors at least VERDICT_PRECISION of the time.

    ``reviewed``: {row: (label when flagged, label changed)}; ``proba``: the current out-of-fold
    probabilities. Each verdict is a labelled example of what a wrong label (changed) or a right but
    doubted one (kept) looks like to the model now: the margin against the flagged label. An isotonic
    (non-decreasing) fit of "changed" on that margin, so one lucky verdict does not move the line, read
    where it crosses VERDICT_PRECISION (linear between verdicts: between the strongest kept and the weakest
    changed verdict when they do not overlap, rather than at either). None
    with fewer than MIN_VERDICTS verdicts or only one outcome (nothing to calibrate on); above every verdict
    when no margin reaches that precision.
    """
    if not reviewed or len(reviewed) < MIN_VERDICTS:
        return None
    rows = np.array(list(reviewed), dtype=int)
    flagged = np.array([int(lab) for lab, _ in reviewed.values()])
    changed = np.array([bool(c) for _, c in reviewed.values()], dtype=float)
    if changed.min() == changed.max():
        return None
    from sklearn.isotonic import IsotonicRegression

    m = margins(np.asarray(proba, dtype=float)[rows], flagged)
    grid = np.linspace(m.min(), m.max(), 201)
    fitted = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(m, changed).predict(grid)
    good = grid[fitted >= VERDICT_PRECISION]
    return float(good.min()) if good.size else float(m.max()) + 1e-6


def _settled(issue: LabelIssue, settled) -> bool:
    if not settled or issue.index not in settled:
        return False
    label, score = settled[issue.index]
    return label == issue.given and issue.score < (score or 0.0) + MUCH_STRONGER


def _noisier_slice_issues(labels: np.ndarray, proba: np.ndarray, slices: np.ndarray) -> set[int]:
    """Rows cleanlab's filter flags within each slice whose estimated noise is above the whole set's.

    Its per-class thresholds, computed over every row, sit too high for a darker or noisier slice where the
    model is less sure of everything; run on the slice's own rows they adapt, so its recall does not collapse.
    """
    values = np.unique(slices)
    if len(values) < 2:
        return set()
    overall = _noise(labels, proba)
    out = set()
    for value in values:
        rows = np.flatnonzero(slices == value)
        if len(rows) >= MIN_SLICE_ROWS and _noise(labels[rows], proba[rows]) > overall:
            out |= {int(rows[i.index]) for i in find_label_issues(labels[rows], proba[rows])}
    return out


MIN_SLICE_ROWS = 30


def _noise(labels: np.ndarray, proba: np.ndarray) -> float:
    return estimate_noise_rate(labels, proba) if len(np.unique(labels)) > 1 else 0.0


def _slice_budget(labels: np.ndarray, proba: np.ndarray) -> int:
    if len(labels) < 10 or len(np.unique(labels)) < 2:
        return 1
    return max(1, int(np.floor(NOISE_BUDGET * estimate_noise_rate(labels, proba) * len(labels))))
