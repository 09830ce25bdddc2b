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


def _after_a_reviewed_round(seed=5, n=400, k=4):
    """A set after one reviewed round, with the retrained model's out-of-fold probabilities.

    Rows 0-11: flagged, wrong, fixed by the reviewer (the model now contradicts the old label strongly);
    rows 12-23: flagged, right, kept (doubted about as much as other right labels the model doubts);
    rows 24-27: wrong labels left, contradicted as strongly as the fixed ones; rows 28-39: right labels the
    model doubts. Returns labels, truth, proba, verdicts {row: (label when flagged, changed)}, settled.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    proba = np.full((n, k), 0.02)
    proba[np.arange(n), truth] = 0.94
    labels = truth.copy()

    def row(r, given, top, p_top, p_given):
        proba[r] = (1 - p_top - p_given) / (k - 2)
        proba[r, top], proba[r, given] = p_top, p_given

    reviewed = {}
    for r in range(12):
        old = (truth[r] + 1) % k
        row(r, old, truth[r], 0.85, 0.05)
        reviewed[r] = (int(old), True)
    for r in range(12, 24):
        row(r, truth[r], (truth[r] + 1) % k, 0.55, 0.3)
        reviewed[r] = (int(truth[r]), False)
    for r in range(24, 28):
        labels[r] = (truth[r] + 1) % k
        row(r, labels[r], truth[r], 0.84, 0.05)
    for r in range(28, 40):
        row(r, truth[r], (truth[r] + 2) % k, 0.6, 0.25)
    settled = {r: (int(labels[r]), 0.0 if changed else 0.7) for r, (_, changed) in reviewed.items()}
    return labels, truth, proba, reviewed, settled


def test_after_a_reviewed_round_the_verdicts_find_the_wrong_labels_left_and_nothing_else():
    labels, truth, proba, reviewed, settled = _after_a_reviewed_round()
    found = {i.index for i in search_mislabels(None, labels, 4, proba=proba, settled=settled, reviewed=reviewed)}
    assert found == {24, 25, 26, 27}  # every wrong label left; no doubted right label, no reviewed row
    # the bar sits between the strongest contradiction a reviewer rejected and the weakest one that was real
    threshold = noise.verdict_threshold(reviewed, proba)
    assert 0.25 < threshold < 0.79


def test_a_reviewer_confirmed_label_is_not_flagged_again_even_above_the_bar():
    labels, truth, proba, reviewed, settled = _after_a_reviewed_round()
    other = (labels[12] + 1) % 4  # now contradicted as strongly as a real error, but a reviewer settled it
    proba[12] = 0.05
    proba[12, other], proba[12, labels[12]] = 0.85, 0.05
    del reviewed[12]
    settled[12] = (int(labels[12]), 0.9)
    assert noise.margins(proba, labels)[12] >= noise.verdict_threshold(reviewed, proba)
    found = {i.index for i in search_mislabels(None, labels, 4, proba=proba, settled=settled, reviewed=reviewed)}
    assert 12 not in found and {24, 25, 26, 27} <= found


def test_verdicts_are_used_only_when_there_is_something_to_calibrate_on():
    labels, truth, proba, reviewed, settled = _after_a_reviewed_round()
    assert noise.verdict_threshold({r: reviewed[r] for r in range(noise.MIN_VERDICTS - 1)}, proba) is None
    assert noise.verdict_threshold({r: reviewed[r] for r in range(12)}, proba) is None  # all changed
    assert noise.verdict_threshold({}, proba) is None
    mixed = {r: reviewed[r] for r in (*range(6), *range(12, 18))}
    assert noise.verdict_threshold(mixed, proba) is not None


def test_margins_measure_the_best_other_class_against_the_label():
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    assert np.allclose(noise.margins(proba, np.array([1, 2])), [0.5, -0.3])
