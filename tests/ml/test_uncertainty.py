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
