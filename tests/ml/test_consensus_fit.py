"""Fitted Dawid-Skene parameters applied to one item reproduce the batch consensus."""
import numpy as np
import pytest

from ml import consensus as cons


def _crowd(n_items=60, n_annotators=6, n_classes=3, seed=0):
    """Each item labelled by 3 of the annotators; annotator j is right with probability 0.95 - 0.1 * j."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_items)
    matrix = np.full((n_items, n_annotators), -1)
    for i in range(n_items):
        for j in rng.choice(n_annotators, 3, replace=False):
            right = rng.random() < 0.95 - 0.1 * j
            matrix[i, j] = truth[i] if right else (truth[i] + rng.integers(1, n_classes)) % n_classes
    proba = np.full((n_items, n_classes), 0.1)
    proba[np.arange(n_items), truth] = 0.8
    return matrix, proba, truth


def _apply(fit, matrix, i, proba=None):
    seen = np.nonzero(matrix[i] >= 0)[0]
    return cons.dawid_skene_posterior(matrix[i, seen], fit.confusions[seen], fit.priors,
                                      model_proba=None if proba is None else proba[i],
                                      model_confusion=fit.model_confusion, model_weight=fit.model_weight)


def test_fitted_parameters_applied_to_each_item_give_the_batch_dawid_skene_result():
    matrix, _, _ = _crowd()
    batch = cons.consensus(matrix, 3, method="dawid_skene")
    fit = cons.fit_dawid_skene(matrix, 3)
    assert fit.confusions.shape == (6, 3, 3) and fit.priors.shape == (3,) and fit.model_confusion is None
    np.testing.assert_allclose(fit.confusions.sum(axis=2), 1.0)
    for i in range(len(matrix)):
        posterior = _apply(fit, matrix, i)
        np.testing.assert_allclose(posterior, batch.posterior[i], atol=1e-9)
        assert posterior.argmax() == batch.labels[i]


def test_fitted_parameters_with_the_model_give_the_batch_model_assisted_result():
    matrix, proba, _ = _crowd(seed=1)
    batch = cons.consensus(matrix, 3, method="model_assisted", model_proba=proba)
    fit = cons.fit_dawid_skene(matrix, 3, model_proba=proba)
    assert fit.model_confusion.shape == (3, 3)
    for i in range(len(matrix)):
        posterior = _apply(fit, matrix, i, proba)
        np.testing.assert_allclose(posterior, batch.posterior[i], atol=1e-9)
        assert posterior.argmax() == batch.labels[i]


def test_dawid_skene_posterior_follows_the_reliable_annotator_over_two_spammers():
    # Hand-worked: annotators 0 and 1 say class 0 whatever the truth (a uniform row carries no evidence);
    # annotator 2 is right 90% of the time (5% for each wrong class). Majority says 0; the posterior is
    # annotator 2's column of its confusion matrix.
    spammer = np.array([[0.98, 0.01, 0.01]] * 3)
    reliable = np.full((3, 3), 0.05) + np.eye(3) * 0.85
    posterior = cons.dawid_skene_posterior([0, 0, 2], np.stack([spammer, spammer, reliable]), np.full(3, 1 / 3))
    assert posterior.argmax() == 2
    np.testing.assert_allclose(posterior, [0.05, 0.05, 0.90])


def test_dawid_skene_posterior_refuses_mismatched_inputs():
    conf = np.full((1, 3, 3), 1 / 3)
    with pytest.raises(ValueError, match="confusion matrices"):
        cons.dawid_skene_posterior([0, 1], conf, np.full(3, 1 / 3))
    with pytest.raises(ValueError, match=r"labels must be in"):
        cons.dawid_skene_posterior([3], conf, np.full(3, 1 / 3))
    with pytest.raises(ValueError, match="shape"):
        cons.dawid_skene_posterior([0], conf, np.full(3, 1 / 3), model_proba=[0.5, 0.5], model_confusion=np.eye(3))


def test_fit_refuses_zero_iterations():
    with pytest.raises(ValueError, match="max_iter"):
        cons.fit_dawid_skene(np.array([[0, 1]]), 2, max_iter=0)
