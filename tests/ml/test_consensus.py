import numpy as np
import pytest

from ml import consensus as cons


def test_majority_vote_breaks_ties_toward_the_lowest_class():
    assert cons.majority_vote([2, 1, 2, 1], 3) == (1, 0.5)
    assert cons.majority_vote([0, 2, 2], 3) == (2, pytest.approx(2 / 3))


def test_majority_vote_refuses_an_item_without_votes():
    with pytest.raises(ValueError, match="at least one vote"):
        cons.majority_vote([], 3)


def test_triples_and_matrix_round_trip_with_missing_entries():
    triples = [(0, 0, 1), (0, 2, 2), (1, 1, 0)]
    matrix = cons.to_matrix(triples, n_items=3, n_annotators=3)
    assert matrix.tolist() == [[1, -1, 2], [-1, 0, -1], [-1, -1, -1]]
    assert cons.to_triples(matrix) == triples


def test_to_matrix_refuses_a_triple_outside_the_declared_size():
    with pytest.raises(ValueError, match="outside"):
        cons.to_matrix([(5, 0, 1)], n_items=3, n_annotators=1)


def _reliable_vs_two_unreliable():
    # Annotator 0 is always right. Annotator 1 is wrong on every even item, annotator 2 on every third
    # item, each with a different wrong class; where both are wrong the vote splits three ways and
    # majority vote falls back to the lowest class index.
    truth = np.arange(24) % 4
    a1 = np.where(np.arange(24) % 2 == 0, (truth + 1) % 4, truth)
    a2 = np.where(np.arange(24) % 3 == 0, (truth + 2) % 4, truth)
    return np.column_stack([truth, a1, a2]), truth


def test_dawid_skene_trusts_the_reliable_annotator_over_two_unreliable_ones():
    annotations, truth = _reliable_vs_two_unreliable()
    majority = cons.consensus(annotations, 4, method="majority")
    assert (majority.labels != truth).sum() >= 2
    ds = cons.consensus(annotations, 4, method="dawid_skene")
    assert ds.method == "dawid_skene"
    assert (ds.labels == truth).all()
    assert ds.confidence.shape == (24,) and ((ds.confidence > 0.5) & (ds.confidence <= 1)).all()


def test_dawid_skene_is_deterministic_and_posteriors_sum_to_one():
    annotations, _ = _reliable_vs_two_unreliable()
    first = cons.dawid_skene(annotations, 4)
    np.testing.assert_array_equal(first, cons.dawid_skene(annotations, 4))
    np.testing.assert_allclose(first.sum(axis=1), 1.0)


def test_model_assisted_consensus_follows_a_confident_model_on_a_split_vote():
    # Two annotators disagree on item 0; a model that is right on every other item says class 1.
    annotations = np.array([[0, 1]] + [[c, c] for c in [0, 1, 2] * 6])
    proba = np.full((19, 3), 0.05)
    proba[np.arange(19), [1] + [0, 1, 2] * 6] = 0.9
    assert cons.consensus(annotations, 3, method="majority").labels[0] == 0
    assisted = cons.consensus(annotations, 3, method="model_assisted", model_proba=proba)
    assert assisted.method == "model_assisted" and assisted.labels[0] == 1


def test_default_method_without_model_probabilities_falls_back_to_dawid_skene():
    annotations, _ = _reliable_vs_two_unreliable()
    assert cons.DEFAULT_METHOD == "model_assisted"
    assert cons.consensus(annotations, 4).method == "dawid_skene"


def test_consensus_refuses_unknown_methods_and_out_of_range_labels():
    with pytest.raises(ValueError, match="majority"):
        cons.consensus(np.array([[0, 1]]), 2, method="vote")
    with pytest.raises(ValueError, match="n_classes"):
        cons.consensus(np.array([[0, 3]]), 2)
    with pytest.raises(ValueError, match="at least one label"):
        cons.consensus(np.array([[0, 1], [-1, -1]]), 2)


def test_annotator_quality_against_consensus_and_gold():
    annotations = np.array([[0, 0], [1, 0], [1, 1], [0, -1]])
    gold = np.array([0, -1, 1, -1])
    quality = cons.annotator_quality(annotations, [0, 1, 1, 0], 2, gold=gold)
    assert quality[0].accuracy_vs_consensus == 1.0 and quality[0].n_labels == 4
    assert quality[1].accuracy_vs_consensus == pytest.approx(2 / 3)
    assert quality[1].accuracy_vs_gold == 1.0 and quality[1].n_gold == 2
    assert quality[1].confusion.tolist() == [[1, 0], [1, 1]]
