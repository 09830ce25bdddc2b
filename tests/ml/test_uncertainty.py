import numpy as np
import pytest

from ml import uncertainty


def test_margin_ranks_close_call_above_confident_item():
    proba = np.array([[0.9, 0.1], [0.55, 0.45]])
    s = uncertainty.margin(proba)
    assert s[1] > s[0]
    assert s == pytest.approx([0.2, 0.9])


def test_entropy_is_one_for_uniform_and_zero_for_certain():
    proba = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert uncertainty.entropy(proba) == pytest.approx([1.0, 0.0], abs=1e-6)


def test_unknown_strategy_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="margin"):
        uncertainty.scores(np.eye(2), "bogus")


def test_least_confidence_is_one_minus_top_probability():
    proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    assert uncertainty.least_confidence(proba) == pytest.approx([0.3, 0.6])


def test_margin_uses_the_top_two_whatever_their_column():
    proba = np.array([[0.1, 0.3, 0.6], [0.34, 0.33, 0.33]])
    assert uncertainty.margin(proba) == pytest.approx([0.7, 0.99])


def test_entropy_of_three_classes_is_normalised_by_log_three():
    proba = np.array([[0.5, 0.5, 0.0]])
    assert uncertainty.entropy(proba) == pytest.approx([np.log(2) / np.log(3)], abs=1e-6)


def test_sequential_ranks_items_in_row_order():
    s = uncertainty.scores(np.full((4, 2), 0.5), "sequential")
    assert list(np.argsort(-s)) == [0, 1, 2, 3]


def test_random_scores_reproduce_with_the_same_random_state():
    proba = np.full((50, 3), 1 / 3)
    a = uncertainty.scores(proba, "random", random_state=7)
    assert np.array_equal(a, uncertainty.scores(proba, "random", random_state=7))
    assert not np.array_equal(a, uncertainty.scores(proba, "random", random_state=8))


def test_every_listed_strategy_scores_each_item():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    for name in uncertainty.STRATEGIES:
        assert uncertainty.scores(proba, name).shape == (3,)


def test_one_dimensional_proba_is_refused():
    with pytest.raises(ValueError, match="shape"):
        uncertainty.margin(np.array([0.5, 0.5]))
