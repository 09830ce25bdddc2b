"""Wilson intervals and stratified allocation against hand-worked cases."""
import pytest

from ml.stats import stratified_allocation, wilson_interval


def test_wilson_matches_the_textbook_value_for_8_of_10():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_stays_inside_0_1_at_the_edges_and_is_unknown_for_no_data():
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0
    assert wilson_interval(5, 5)[0] == pytest.approx(0.5655, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_allocation_is_proportional_with_one_per_stratum_and_sums_to_the_total():
    assert stratified_allocation([80, 15, 5], 20) == [16, 3, 1]
    assert stratified_allocation([1000, 1, 1], 10) == [8, 1, 1]
    assert sum(stratified_allocation([7, 3, 0, 9], 11)) == 11
    assert stratified_allocation([2, 3], 50) == [2, 3]
    assert stratified_allocation([5, 5, 5], 2) in ([1, 1, 0], [1, 0, 1], [0, 1, 1])


def test_proportion_estimate_takes_named_counts_and_brackets_the_share():
    from ml.stats import proportion_estimate

    e = proportion_estimate(correct=8, n=10)
    assert (e["n"], e["correct"], e["accuracy"]) == (10, 8, 0.8)
    assert e["low"] < 0.8 < e["high"]
    assert proportion_estimate(correct=0, n=0)["accuracy"] is None
    with pytest.raises(TypeError):
        proportion_estimate(8, 10)  # positional counts were swapped by one of the two old copies
