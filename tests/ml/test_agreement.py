import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from ml import agreement

# Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories, kappa = 0.210.
FLEISS_COUNTS = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def _matrix_from_counts(counts):
    return np.array([np.repeat(np.arange(counts.shape[1]), row) for row in counts])


def _random_annotations(seed, n_items=60, n_annotators=4, n_classes=3, missing=0.2):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_items)
    noisy = rng.random((n_items, n_annotators)) < 0.3
    matrix = np.where(noisy, rng.integers(0, n_classes, (n_items, n_annotators)), truth[:, None])
    matrix[rng.random(matrix.shape) < missing] = -1
    return matrix


def test_disagreement_is_true_only_when_votes_differ():
    assert agreement.disagreement([1, 2])
    assert not agreement.disagreement([3, 3, 3])


def test_fleiss_kappa_matches_the_textbook_example():
    matrix = _matrix_from_counts(FLEISS_COUNTS)
    assert agreement.fleiss_kappa(matrix, 5) == pytest.approx(0.2099, abs=1e-3)


def test_fleiss_kappa_is_one_for_unanimous_items_and_ignores_single_labels():
    matrix = np.array([[0, 0, -1], [1, 1, 1], [2, -1, -1]])
    assert agreement.fleiss_kappa(matrix, 3) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_equals_scikit_learn_on_random_pairs(seed):
    matrix = _random_annotations(seed)
    kappas = agreement.pairwise_cohen_kappa(matrix)
    for i, j in [(0, 1), (0, 3), (2, 3)]:
        both = (matrix[:, i] >= 0) & (matrix[:, j] >= 0)
        expected = cohen_kappa_score(matrix[both, i], matrix[both, j])
        assert kappas[i, j] == pytest.approx(expected)
        assert kappas[j, i] == kappas[i, j]
    assert np.all(np.diag(kappas) == 1.0)


def test_cohen_kappa_is_nan_when_annotators_share_no_item():
    assert np.isnan(agreement.cohen_kappa([0, 1, -1, -1], [-1, -1, 0, 1]))


@pytest.mark.parametrize("seed", range(5))
def test_krippendorff_alpha_equals_the_krippendorff_package(seed):
    matrix = _random_annotations(seed, n_classes=4)
    reliability = np.where(matrix < 0, np.nan, matrix).T.astype(float)
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    assert agreement.krippendorff_alpha(matrix, 4) == pytest.approx(expected)


def test_per_class_alpha_equals_the_package_on_one_vs_rest_data():
    matrix = _random_annotations(7, n_classes=3)
    per_class = agreement.krippendorff_alpha_per_class(matrix, 3)
    for c in range(3):
        binary = np.where(matrix < 0, np.nan, (matrix == c).astype(float)).T
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        assert per_class[c] == pytest.approx(expected)


def test_per_class_alpha_singles_out_the_confused_class():
    # Annotators agree on class 0 but split between 1 and 2 on the other items.
    matrix = np.array([[0, 0, 0]] * 10 + [[1, 2, 1]] * 5 + [[2, 1, 2]] * 5)
    alphas = agreement.krippendorff_alpha_per_class(matrix, 3)
    assert alphas[0] == pytest.approx(1.0)
    assert alphas[1] < 0.2 and alphas[2] < 0.2


def test_percent_agreement_counts_agreeing_pairs():
    # Item 1: 3 pairs, 1 agrees; item 2: 1 pair, agrees; item 3: too few labels.
    matrix = np.array([[0, 0, 1], [2, 2, -1], [1, -1, -1]])
    assert agreement.pairwise_percent_agreement(matrix) == pytest.approx(2 / 4)


def test_malformed_annotations_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="2-D"):
        agreement.fleiss_kappa(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="-1"):
        agreement.krippendorff_alpha(np.array([[0, -3]]))


def test_agreement_report_has_every_statistic():
    report = agreement.agreement_report(_random_annotations(1), 3)
    assert set(report) >= {"fleiss_kappa", "krippendorff_alpha", "krippendorff_alpha_per_class", "cohen_kappa_pairs"}
    assert len(report["krippendorff_alpha_per_class"]) == 3
