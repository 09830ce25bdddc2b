"""The benchmarks' ceilings: the best cut-off on a ranking, checked against brute force over every cut-off."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.ceiling import best_cutoff_f1, best_recall_at_precision


def _brute(scores, wrong):
    """(k, precision, recall, f1) for every top-k by score, ties broken by row order."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    out = []
    for k in range(1, len(scores) + 1):
        hits = sum(wrong[i] for i in order[:k])
        p, r = hits / k, hits / sum(wrong)
        out.append((k, p, r, 2 * p * r / (p + r) if hits else 0.0))
    return out


def test_a_perfect_ranking_reaches_f1_one_and_full_recall():
    scores = [0.9, 0.8, 0.1, 0.05]
    wrong = [True, True, False, False]
    assert best_cutoff_f1(scores, wrong) == 1.0
    assert best_recall_at_precision(scores, wrong, 0.9) == 1.0


def test_a_right_label_ranked_first_caps_recall_at_full_precision():
    # a right label the model contradicts most strongly, then two wrong ones, then a right one
    scores, wrong = [0.99, 0.9, 0.8, 0.1], [False, True, True, False]
    assert best_recall_at_precision(scores, wrong, 1.0) == 0.0
    assert best_recall_at_precision(scores, wrong, 0.6) == 1.0  # top 3: 2 of 3 right
    assert abs(best_cutoff_f1(scores, wrong) - 0.8) < 1e-9  # top 3: P 2/3, R 1


def test_nothing_wrong():
    assert best_cutoff_f1([0.3, 0.2], [False, False]) == 0.0
    assert best_recall_at_precision([0.3, 0.2], [False, False], 0.9) == 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=30).filter(
    lambda rows: any(w for _, w in rows)), st.sampled_from([0.5, 0.9, 1.0]))
def test_matches_brute_force(rows, precision):
    scores = [float(s) for s, _ in rows]
    wrong = [w for _, w in rows]
    cuts = _brute(scores, wrong)
    assert abs(best_cutoff_f1(np.array(scores), np.array(wrong)) - max(f for *_, f in cuts)) < 1e-9
    reach = [r for _, p, r, _ in cuts if p >= precision - 1e-12]
    assert abs(best_recall_at_precision(scores, wrong, precision) - (max(reach) if reach else 0.0)) < 1e-9
