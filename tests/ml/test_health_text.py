"""ml.health on the generated support-ticket set: text checks and the statistical slice test."""
import numpy as np
import pytest

from ml import health as H
from ml import synthetic as S
from tests.ml.test_health import assert_found


@pytest.fixture(scope="module")
def tickets():
    return S.ticket_set(600, seed=5)


def test_empty_one_and_two_word_and_mojibake_tickets_are_found(tickets):
    found = H.text_problems(tickets.content)
    assert_found(np.flatnonzero(found["empty"]), tickets.truth["empty"], "empty")
    assert_found(np.flatnonzero(found["short"]), tickets.truth["short"], "too short")
    undecodable = found["mojibake"] | found["bad_chars"]
    assert_found(np.flatnonzero(undecodable), tickets.truth["mojibake"], "mojibake")
    assert H.short_text_limit(tickets.content) == 3  # the floor: median tickets are ~20 words


def test_short_limit_follows_the_projects_length_distribution():
    long_texts = [" ".join(["word"] * 60)] * 50 + ["just five words right here"]
    assert H.short_text_limit(long_texts) == pytest.approx(9.0)
    assert H.text_problems(long_texts)["short"][-1]  # 5 words among 60-word texts is short


def test_mojibake_is_found_and_correct_accents_and_curly_quotes_are_not():
    texts = ["It\u00e2\u20ac\u2122s broken", "Caf\u00c3\u00a9 au lait", "It\u2019s a caf\u00e9 \u2014 fine",
             "na\u00efve r\u00e9sum\u00e9, price 5\u20ac"]
    assert H.text_problems(texts)["mojibake"].tolist() == [True, True, False, False]


def test_exact_copies_with_another_label_are_conflicts_and_template_look_alikes_are_not(tickets):
    dup = H.text_duplicates(tickets.content)
    assert_found({i for g in dup["exact"] for i in g}, tickets.truth["exact_copy"], "exact copies")
    labels = np.array([S.TICKET_CLASSES.index(x) for x in tickets.labels])
    conflicts = {i for g in H.conflicting_groups(dup["exact"] + dup["very_near"], labels) for i in g}
    assert_found(conflicts, tickets.truth["conflicting"], "copies with different labels")
    assert all(len(g) == 2 for g in dup["exact"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_slice_at_082_against_090_is_weak_when_large_enough(seed):
    data = S.ticket_set(1500, seed=seed)
    correct = S.slice_outcomes(data.metadata, field="channel", accuracy={"phone": 0.82}, default=0.90, seed=seed)
    rows = H.slice_accuracy(correct, data.metadata)
    assert [(r["field"], r["value"]) for r in rows if r["weak"]] == [("channel", "phone")]
    phone = next(r for r in rows if r["value"] == "phone")
    assert phone["rest_accuracy"] - phone["accuracy"] < 0.1  # under the old fixed 10-point rule
    assert phone["p_adjusted"] < 0.05


def test_an_equal_or_small_slice_is_not_weak():
    rng = np.random.default_rng(0)
    meta = [{"channel": c} for c in rng.choice(["phone", "email", "chat"], size=1500)]
    equal = rng.random(1500) < 0.9
    assert not any(r["weak"] for r in H.slice_accuracy(equal, meta))
    small = [{"site": "tiny"} if i < 12 else {"site": "main"} for i in range(1500)]
    correct = np.r_[np.zeros(12, dtype=bool), rng.random(1488) < 0.9]  # 12 items all wrong: too few to test
    rows = H.slice_accuracy(correct, small)
    assert not any(r["weak"] for r in rows) and next(r for r in rows if r["value"] == "tiny")["p"] is None


def test_holm_correction_is_applied_over_all_slices():
    rows = [{"p": 0.01}, {"p": 0.04}, {"p": None}]
    H._holm(rows, 0.05)
    assert [r["p_adjusted"] for r in rows] == [0.02, 0.04, None]
    assert [r["weak"] for r in rows] == [True, True, False]
