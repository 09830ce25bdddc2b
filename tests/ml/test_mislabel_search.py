"""The mislabel search that keeps looking: contradictions beyond cleanlab's filter, settled flags, slices."""
import numpy as np

import ml.noise as noise
from ml.noise import MUCH_STRONGER, search_mislabels


def _noisy_proba(n=600, k=4, rate=0.08, seed=0, sharp=6.0):
    """Labels, true classes and out-of-fold-like probabilities that favour the true class."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), truth] += sharp * rng.uniform(0.3, 1.0, n)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = truth.copy()
    wrong = rng.random(n) < rate
    labels[wrong] = (truth[wrong] + 1) % k
    return labels, truth, proba


def test_a_confident_contradiction_is_flagged_even_when_cleanlab_finds_nothing(monkeypatch):
    labels, truth, proba = _noisy_proba()
    monkeypatch.setattr(noise, "find_label_issues", lambda *a, **k: [])
    flagged = {i.index for i in search_mislabels(None, labels, 4, proba=proba)}
    wrong = set(np.flatnonzero(labels != truth).tolist())
    assert len(flagged & wrong) >= 0.8 * len(wrong)
    assert len(flagged & wrong) >= 0.8 * len(flagged)


def test_each_issue_suggests_another_class_with_its_probability():
    labels, truth, proba = _noisy_proba(seed=1)
    issues = search_mislabels(None, labels, 4, proba=proba)
    assert issues and all(i.suggested != i.given for i in issues)
    assert [i.score for i in issues] == sorted((i.score for i in issues), reverse=True)
    first = issues[0]
    assert abs(first.confidence - proba[first.index].max()) < 1e-9 and first.suggested == proba[first.index].argmax()


def test_a_settled_label_is_not_flagged_again_unless_the_evidence_is_much_stronger():
    labels, truth, proba = _noisy_proba(seed=2)
    issues = search_mislabels(None, labels, 4, proba=proba)
    row, score = issues[0].index, issues[0].score
    settled_same = {row: (int(labels[row]), score)}
    assert row not in {i.index for i in search_mislabels(None, labels, 4, proba=proba, settled=settled_same)}
    weaker_then = {row: (int(labels[row]), score - MUCH_STRONGER - 0.01)}
    assert row in {i.index for i in search_mislabels(None, labels, 4, proba=proba, settled=weaker_then)}
    other_label = {row: ((int(labels[row]) + 1) % 4, score)}  # settled for a label it no longer has
    assert row in {i.index for i in search_mislabels(None, labels, 4, proba=proba, settled=other_label)}


def test_a_noisier_slice_keeps_its_recall():
    clean_l, clean_t, clean_p = _noisy_proba(n=900, rate=0.02, seed=3, sharp=3.0)
    noisy_l, noisy_t, noisy_p = _noisy_proba(n=300, rate=0.25, seed=4, sharp=3.0)
    labels, truth = np.concatenate([clean_l, noisy_l]), np.concatenate([clean_t, noisy_t])
    proba = np.vstack([clean_p, noisy_p])
    slices = np.array([0] * 900 + [1] * 300)
    wrong = labels != truth

    def slice_recall(found):
        rows = np.zeros(len(labels), bool)
        rows[[i.index for i in found]] = True
        return (rows & wrong)[slices == 1].sum() / wrong[slices == 1].sum()

    with_slices = slice_recall(search_mislabels(None, labels, 4, proba=proba, slices=slices))
    assert with_slices >= 0.7
    assert with_slices >= slice_recall(search_mislabels(None, labels, 4, proba=proba))


def test_search_on_features_fits_the_ensemble_and_finds_flipped_labels():
    from sklearn.datasets import make_blobs

    X, truth = make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=0)
    labels = truth.copy()
    labels[:12] = (truth[:12] + 1) % 3
    found = {i.index for i in search_mislabels(X, labels, 3, random_state=0)}
    assert len(found & set(range(12))) >= 10 and len(found - set(range(12))) <= 3
