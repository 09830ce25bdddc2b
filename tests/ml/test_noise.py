import numpy as np
import pytest
from cleanlab.filter import find_label_issues as cleanlab_find

from ml import noise


def _blobs(seed=0, per_class=30):
    """Three well-separated 2-D clusters labelled 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([c + rng.normal(size=(per_class, 2)) for c in centres])
    return X, np.repeat(np.arange(3), per_class)


def test_planted_mislabel_is_found_with_the_expected_reason():
    X, y = _blobs()
    noisy = y.copy()
    noisy[5] = 2  # a point in the middle of cluster 0, labelled 2
    issues = noise.detect_mislabels(X, noisy, 3, random_state=0)
    assert [i.index for i in issues] == [5]
    issue = issues[0]
    assert (issue.given, issue.suggested) == (2, 0)
    assert issue.neighbours_agreeing == 5 and len(issue.neighbours) == 5
    text = noise.explain(issue, ["cat", "dog", "bird"])
    assert text.startswith("given bird; model says cat (0.")
    assert text.endswith("; 5 of 5 nearest neighbours are cat")


def test_explain_without_features_or_names_states_model_evidence_only():
    issue = noise.LabelIssue(index=3, given=8, suggested=3, score=0.97, confidence=0.94)
    assert noise.explain(issue) == "given 8; model says 3 (0.94)"


def test_find_label_issues_matches_cleanlab_and_ranks_most_suspicious_first():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 200)
    proba = np.full((200, 3), 0.05)
    proba[np.arange(200), labels] = 0.9
    proba[[10, 20, 30]] = [[0.02, 0.96, 0.02], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]]
    labels[[10, 20, 30]] = 0
    issues = noise.find_label_issues(labels, proba)
    expected = set(np.flatnonzero(cleanlab_find(labels, proba)))
    assert {i.index for i in issues} == expected
    assert issues[0].index == 10 and issues[0].suggested == 1
    scores = [i.score for i in issues]
    assert scores == sorted(scores, reverse=True)


def test_label_quality_scores_are_the_probability_of_the_given_label():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    np.testing.assert_allclose(noise.label_quality_scores([0, 1, 1], proba), [0.9, 0.8, 0.3])


def test_noise_rate_estimate_is_near_the_planted_share():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 2000)
    labels = truth.copy()
    flip = rng.random(2000) < 0.15
    labels[flip] = (truth[flip] + 1) % 4
    proba = np.full((2000, 4), 0.02)
    proba[np.arange(2000), truth] = 0.94
    assert noise.estimate_noise_rate(labels, proba) == pytest.approx(0.15, abs=0.03)


def test_wrong_label_estimate_gives_the_confident_joint_and_every_disagreement_as_counts():
    # As after a reviewed round: few wrong labels where the model is sure, many where it is unsure (hard rows,
    # the truth only slightly ahead)
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 600)
    hard = rng.random(600) < 0.1
    flip = rng.random(600) < np.where(hard, 0.3, 0.02)
    labels = truth.copy()
    labels[flip] = (truth[flip] + 1) % 3
    proba = np.full((600, 3), 0.05)
    proba[np.arange(600), truth] = 0.9
    proba[hard] = 0.3
    proba[hard, truth[hard]] = 0.4
    est = noise.wrong_label_estimate(labels, proba)
    assert est["n_labels"] == 600
    assert est["model_disagreements"] == int((proba.argmax(axis=1) != labels).sum()) == int(flip.sum())
    assert est["estimated_wrong_labels"] == round(noise.estimate_noise_rate(labels, proba) * 600)
    # the wrong labels on hard rows are not confident contradictions: the low end falls below the truth
    assert est["estimated_wrong_labels"] < flip.sum() <= est["model_disagreements"]
    assert noise.wrong_label_estimate([0, 0], np.array([[0.9, 0.1], [0.8, 0.2]]))["estimated_wrong_labels"] == 0


def test_ensemble_probabilities_are_out_of_fold_and_well_formed():
    X, y = _blobs()
    proba = noise.ensemble_oof_proba(X, y, 3, random_state=0)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Out-of-fold: a duplicate-free label flip is not memorised, so its own label gets low probability.
    noisy = y.copy()
    noisy[0] = 1
    assert noise.ensemble_oof_proba(X, noisy, 3, random_state=0)[0, 1] < 0.5


def test_malformed_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="2 labels but 3"):
        noise.find_label_issues([0, 1], np.eye(3))
    with pytest.raises(ValueError, match="class indices"):
        noise.find_label_issues([0, 5], np.eye(2))


def test_single_class_or_empty_input_has_no_issues():
    assert noise.find_label_issues([], np.zeros((0, 2))) == []
    assert noise.find_label_issues([1, 1], np.array([[0.9, 0.1], [0.8, 0.2]])) == []


def _flag_in_child(queue):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    proba = np.full((300, 3), 0.05)
    proba[np.arange(300), (labels + (np.arange(300) % 10 == 0)) % 3] = 0.9
    try:
        queue.put(len(noise.find_label_issues(labels, proba)))
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        queue.put(repr(exc))


def test_flagging_works_in_a_daemonic_process_like_a_prefork_celery_worker():
    """Celery's prefork children are daemonic and may not start processes: cleanlab must not use a pool."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_flag_in_child, args=(queue,), daemon=True)
    child.start()
    outcome = queue.get(timeout=60)
    child.join(timeout=10)
    assert outcome == 30, outcome
