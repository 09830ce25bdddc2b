import numpy as np
import pytest
from scipy import sparse

from ml import active


def _two_clusters_of_near_copies(rng):
    """20 items: 10 near-copies around (0, 0) that are slightly more uncertain, 10 around (10, 10)."""
    X = np.vstack([rng.normal(0, 0.01, (10, 2)), rng.normal(10, 0.01, (10, 2))])
    p_top = np.concatenate([np.full(10, 0.51), np.full(10, 0.55)]) + rng.uniform(0, 0.001, 20)
    proba = np.column_stack([p_top, 1 - p_top])
    return proba, X


def test_plain_margin_takes_the_near_copies():
    proba, X = _two_clusters_of_near_copies(np.random.default_rng(0))
    picked = active.select_batch(proba, X, batch_size=2, strategy="margin")
    assert set(picked) <= set(range(10))


def test_diverse_batch_takes_one_item_from_each_cluster():
    proba, X = _two_clusters_of_near_copies(np.random.default_rng(0))
    picked = active.select_batch(proba, X, batch_size=2, strategy="margin_diverse")
    assert len(set(picked)) == 2
    assert sum(i < 10 for i in picked) == 1
    assert picked[0] < 10  # the more uncertain cluster comes first


def test_diverse_batch_spreads_over_four_clusters_and_returns_distinct_items():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [0, 10], [10, 0], [10, 10]])
    X = np.repeat(centres, 25, axis=0) + rng.normal(0, 0.05, (100, 2))
    proba = np.column_stack([np.full(100, 0.5), np.full(100, 0.5)]) + rng.uniform(-0.01, 0.01, (100, 1)) * [1, -1]
    picked = active.select_batch(proba, X, batch_size=4, strategy="margin_diverse", random_state=3)
    assert sorted(set(picked // 25)) == [0, 1, 2, 3]


def test_diverse_batch_works_on_sparse_features():
    rng = np.random.default_rng(2)
    X = sparse.random(60, 30, density=0.2, format="csr", random_state=2)
    proba = rng.dirichlet([1, 1, 1], size=60)
    picked = active.select_batch(proba, X, batch_size=5, strategy="margin_diverse")
    assert len(set(picked.tolist())) == 5


def test_class_boost_surfaces_the_rare_class():
    # Items 0-2 predicted as class 0 (90 labels so far), items 3-4 as class 2 (never labeled).
    proba = np.array([[0.5, 0.4, 0.1], [0.5, 0.45, 0.05], [0.48, 0.47, 0.05], [0.2, 0.1, 0.7], [0.1, 0.1, 0.8]])
    labeled_y = np.array([0] * 90 + [1] * 10)
    plain = active.select_batch(proba, np.zeros((5, 1)), labeled_y, batch_size=2, strategy="margin")
    boosted = active.select_batch(proba, np.zeros((5, 1)), labeled_y, batch_size=2, strategy="margin_balanced")
    assert set(plain) == {1, 2}
    assert set(boosted) == {3, 4}


def test_class_boost_is_one_for_balanced_labels_and_hand_worked_otherwise():
    proba = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert active.class_boost(proba, [0, 1, 0, 1]) == pytest.approx([1.0, 1.0])
    # counts (3, 0) -> shares (4/5, 1/5) -> weights sqrt(0.5 / 0.8), sqrt(0.5 / 0.2)
    assert active.class_boost(proba, [0, 0, 0]) == pytest.approx([np.sqrt(0.625), np.sqrt(2.5)])


def test_class_boost_refuses_labels_outside_the_classes():
    with pytest.raises(ValueError, match="labeled_y"):
        active.class_boost(np.array([[0.5, 0.5]]), [0, 2])


def test_cold_start_covers_every_blob():
    rng = np.random.default_rng(0)
    centres = rng.uniform(-50, 50, (6, 5))
    X = np.repeat(centres, 40, axis=0) + rng.normal(0, 0.5, (240, 5))
    picked = active.cold_start(X, batch_size=6, random_state=0)
    assert sorted(picked // 40) == [0, 1, 2, 3, 4, 5]


def test_cold_start_returns_distinct_items_even_with_duplicates():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    picked = active.cold_start(X, batch_size=4, random_state=0)
    assert len(set(picked.tolist())) == 4


def test_random_and_sequential_baselines():
    proba = np.full((30, 2), 0.5)
    X = np.zeros((30, 1))
    assert list(active.select_batch(proba, X, batch_size=3, strategy="sequential")) == [0, 1, 2]
    a = active.select_batch(proba, X, batch_size=5, strategy="random", random_state=1)
    assert np.array_equal(a, active.select_batch(proba, X, batch_size=5, strategy="random", random_state=1))
    assert len(set(a.tolist())) == 5


def test_batch_larger_than_pool_returns_every_item():
    proba = np.array([[0.6, 0.4], [0.9, 0.1]])
    assert sorted(active.select_batch(proba, np.eye(2), batch_size=5, strategy="margin_diverse")) == [0, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0, "strategy": "margin"}, "batch_size"),
    ({"batch_size": 2, "strategy": "bogus"}, "margin_diverse"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        active.select_batch(np.full((3, 2), 0.5), np.zeros((3, 1)), **kwargs)


def test_feature_rows_must_match_proba_rows():
    with pytest.raises(ValueError, match="rows"):
        active.select_batch(np.full((3, 2), 0.5), np.zeros((4, 1)), batch_size=1, strategy="margin")


def test_default_strategy_and_choices_are_consistent():
    assert active.DEFAULT_STRATEGY in active.STRATEGIES
    assert all(isinstance(label, str) and label for _, label in active.STRATEGY_CHOICES)


@pytest.mark.parametrize("strategy", active.CHUNK_STRATEGIES)
def test_score_chunk_matches_the_float64_scores_in_float32(strategy):
    from ml import uncertainty

    proba = np.random.default_rng(0).dirichlet(np.ones(5), size=200)
    s = active.score_chunk(proba.astype(np.float32), strategy)
    assert s.dtype == np.float32
    assert s == pytest.approx(uncertainty.scores(proba, strategy), abs=1e-5)


def test_top_k_merge_over_chunks_equals_a_global_sort():
    rng = np.random.default_rng(0)
    scores = rng.random(1000).astype(np.float32)
    scores[::7] = 0.5  # many ties
    runs = [(scores[i:i + 128], np.arange(i, min(i + 128, 1000))) for i in range(0, 1000, 128)]
    idx, top = active.top_k_merge(runs, 50)
    expected = np.lexsort((np.arange(1000), -scores))[:50]
    assert np.array_equal(idx, expected)
    assert np.array_equal(top, scores[expected])


def test_top_k_merge_hand_worked_tie_goes_to_lower_index():
    idx, s = active.top_k_merge([(np.array([0.2, 0.9]), np.array([0, 1])), (np.array([0.9, 0.5]), np.array([2, 3]))], 3)
    assert idx.tolist() == [1, 2, 3]
    assert s.tolist() == pytest.approx([0.9, 0.9, 0.5])


def test_rank_in_chunks_counts_rows_across_chunks():
    chunks = [np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([[0.5, 0.5], [1.0, 0.0]])]
    idx, _ = active.rank_in_chunks(chunks, strategy="margin", k=4)
    assert idx.tolist() == [2, 1, 0, 3]


@pytest.mark.parametrize("strategy", ["margin_diverse_balanced", "margin", "margin_balanced", "entropy", "sequential"])
def test_queue_priority_equals_its_chunked_form(strategy):
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(4), size=900)
    X = rng.standard_normal((900, 5))
    y = rng.integers(0, 2, size=40)  # classes 2 and 3 never labeled: boosted
    open_idx = np.sort(rng.choice(900, size=700, replace=False))
    expected = active.queue_priority(proba, X, y, open_idx, strategy=strategy)

    weight = active.class_weights(y, 4)
    runs, priority = [], {}
    for chunk in np.array_split(open_idx, 7):
        s = active.queue_scores(proba[chunk], strategy, class_weight=weight, positions=chunk, n_total=900)
        priority.update(zip(chunk.tolist(), (active.PRIORITY_SPAN * s / active.score_scale(strategy, weight)).tolist(), strict=True))
        top = active.top_indices(s, active.candidate_count(strategy))
        runs.append((s[top], chunk[top]))
    cand, cand_s = active.top_k_merge(runs, active.candidate_count(strategy), dtype=np.float64)
    for i in cand[active.head_batch(cand_s, X[cand], batch_size=50, strategy=strategy)]:
        priority[int(i)] = 1 + priority[int(i)] / 2
    np.testing.assert_allclose([priority[i] for i in open_idx.tolist()], expected, rtol=0, atol=1e-15)
    assert (expected >= 1).sum() == 50 and expected.max() < 2
