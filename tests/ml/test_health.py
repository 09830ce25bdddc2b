"""ml.health on small data sets with planted defects: each defect found with precision and recall >= 0.9."""
import io

import numpy as np
import pytest

from ml import health as H
from ml import synthetic as S
from ml.agreement import pairwise_percent_agreement
from tests.health_data import defect_texts, encode


def precision_recall(found: set[int], truth: set[int]) -> tuple[float, float]:
    tp = len(found & truth)
    return (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0)


def assert_found(found, truth, what):
    found = {int(i) for i in found}
    p, r = precision_recall(found, truth)
    assert p >= 0.9 and r >= 0.9, f"{what}: precision {p:.2f}, recall {r:.2f}; extra {found - truth}, missed {truth - found}"


@pytest.fixture(scope="module")
def photos():
    data = S.photo_set(240, seed=3)
    stats = [H.read_image_stats(io.BytesIO(c)) for c in data.content]
    return data, stats, H.image_problems(stats, data.metadata)


def test_broken_images_are_found_by_the_absolute_floor(photos):
    data, stats, found = photos
    assert_found(np.flatnonzero(found["unreadable"]), data.truth["unreadable"], "unreadable")
    assert_found(np.flatnonzero(found["black"]), data.truth["black"], "all black")
    assert_found(np.flatnonzero(found["white"]), data.truth["white"], "all white")
    assert_found(np.flatnonzero(found["too_small"]), data.truth["tiny"], "too small")


def test_exposure_is_relative_to_the_time_of_day_slice_so_night_photos_are_not_under_exposed(photos):
    data, stats, found = photos
    assert found["slice_field"] == "time_of_day"
    assert_found(np.flatnonzero(found["underexposed"]), data.truth["underexposed"], "under-exposed")
    assert_found(np.flatnonzero(found["overexposed"]), data.truth["overexposed"], "over-exposed")
    night = data.slices["night"] & data.clean_rows()
    # The confounder is real: a fixed "mean under 40" rule calls many clean night photos dark ...
    assert sum(stats[i].mean < 40 for i in night) > len(night) // 4
    # ... the slice-relative rule calls none of them under-exposed.
    assert not set(np.flatnonzero(found["underexposed"])) & night


def test_a_light_picture_that_keeps_its_blacks_is_not_over_exposed_and_a_washed_out_one_is():
    # The confounder met on the demo (its digits, 64 px here): a thin stroke (a "1") leaves more white paper, so its mean is far brighter
    # than the project's median although its ink is black; by the mean alone such a digit was "over-exposed".
    from sklearn.datasets import load_digits

    images = load_digits().images
    n = len(images)
    washed = [S.digit_png(images[k], scale=8, wash=0.7) for k in range(8)]
    stats = [H.read_image_stats(io.BytesIO(c)) for c in [S.digit_png(img, scale=8) for img in images] + washed]
    mean, p01, p99 = (np.array([getattr(st, f) for st in stats[:n]]) for f in ("mean", "p01", "p99"))
    by_mean_alone = (H.robust_z(np.log(256 - mean), min_scale=0.05) < -H.Z_LIMIT) & (mean > 170) & (p99 >= 250)
    assert by_mean_alone.any() and p01[by_mean_alone].max() < 32  # the confounder is real, and its blacks are kept
    found = H.image_problems(stats)
    assert_found(np.flatnonzero(found["overexposed"]), set(range(n, n + 8)), "over-exposed (washed-out scans)")
    assert not found["underexposed"].any() and not found["blurry"][:n].any()


def test_blur_is_found_in_day_and_night_photos_and_not_in_sharp_dark_ones(photos):
    data, stats, found = photos
    blurry = set(np.flatnonzero(found["blurry"]))
    assert_found(blurry, data.truth["blurry"], "blurry")
    assert {i for i in data.truth["blurry"] if data.metadata[i]["time_of_day"] == "night"} <= blurry
    assert not blurry & data.slices["night"] & data.clean_rows()


def test_near_duplicates_are_the_re_compressed_copies_and_never_chain_look_alikes(photos):
    data, stats, found = photos
    exact = {i for g in found["exact"] for i in g}
    assert_found(exact, data.truth["exact_copy"], "exact duplicates")
    near = {i for g in found["near"] for i in g}
    assert_found(near, data.truth["near_copy"], "near duplicates")
    assert max(len(g) for g in found["exact"] + found["near"]) == 2  # the copies are pairs: no chained group
    labels = np.array([S.STATES.index(x) for x in data.labels])
    conflicts = {i for g in H.conflicting_groups(found["exact"] + found["near"], labels) for i in g}
    assert_found(conflicts, data.truth["conflicting"], "duplicates with different labels")


def test_groups_are_cliques_chained_pairs_do_not_merge():
    # 0~1 (2 bits), 1~2 (2 bits) but 0 and 2 are 4 bits apart: with max_distance 3 they must not be one group.
    hashes = np.array([0b0000, 0b0011, 0b1111, 0xFFFF_FFFF_0000_0000], dtype=np.uint64)
    groups = H.near_duplicate_groups(hashes, max_distance=3)
    assert groups in ([[0, 1]], [[1, 2]])
    for g in groups:
        assert all(bin(int(hashes[a]) ^ int(hashes[b])).count("1") <= 3 for a in g for b in g)


def test_robust_z_uses_each_slice_and_falls_back_to_everyone_for_small_slices():
    values = np.r_[np.full(30, 10.0) + np.arange(30) % 3, np.full(30, 100.0) + np.arange(30) % 3, 55.0]
    groups = np.array(["a"] * 30 + ["b"] * 30 + ["c"])
    z = H.robust_z(values, groups=groups)
    assert abs(z[:60]).max() < 2  # each value is ordinary within its own slice
    overall = H.robust_z(values)
    assert z[60] == pytest.approx(overall[60])  # slice "c" has 1 row: measured against everyone


def test_duplicates_with_the_same_label_are_no_conflict():
    groups = [[0, 1], [2, 3, 4]]
    labels = np.array([1, 1, 2, -1, 2])
    assert H.conflicting_groups(groups, labels) == []
    assert H.conflicting_groups(groups, np.array([1, 0, 2, -1, 2])) == [[0, 1]]


def test_the_same_picture_in_another_format_is_an_exact_duplicate():
    import io

    from tests.health_data import scene
    img = scene(3)
    a = H.read_image_stats(io.BytesIO(encode(img, "PNG")))
    b = H.read_image_stats(io.BytesIO(encode(img, "BMP")))
    assert a.pixel_hash == b.pixel_hash and a.phash == b.phash


def test_a_truncated_file_is_unreadable_not_an_exception():
    import io

    from tests.health_data import scene
    data = encode(scene(1), "PNG")
    assert not H.read_image_stats(io.BytesIO(data[: len(data) // 2])).readable
    assert not H.read_image_stats(io.BytesIO(b"not an image")).readable


def test_near_duplicate_search_matches_brute_force_on_random_hashes():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, size=60, dtype=np.uint64)
    flips = np.array([np.uint64(1) << np.uint64(b) for b in rng.integers(0, 64, size=60)], dtype=np.uint64)
    hashes = np.concatenate([base, base[:20] ^ flips[:20], base[20:30] ^ flips[20:30] ^ flips[30:40]])
    groups = H.near_duplicate_groups(hashes, max_distance=4)
    brute = set()
    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= 4:
                brute.add(frozenset((i, j)))
    found = {frozenset((a, b)) for g in groups for a in g for b in g if a < b}
    assert brute <= found and len(brute) >= 30


@pytest.fixture(scope="module")
def texts():
    return defect_texts()


def test_a_sentence_in_a_language_written_without_spaces_is_not_a_short_text():
    # A multilingual shop: English tickets and Chinese, Japanese and Thai ones. Split on spaces, a whole Chinese
    # sentence is one "word", so every such ticket was "very short" next to the English ones.
    rng = np.random.default_rng(0)
    data = S.ticket_set(300, seed=1, n_each=0)
    english = [t for t in data.content if t.strip() and len(t.split()) >= 4][:240]
    unspaced = S.UNSPACED_TICKETS
    foreign = [unspaced[k] for k in rng.integers(0, len(unspaced), 80)]
    short = ["Thanks!", "好", "ok", "非常好", "はい"]  # one- and two-word messages, in every script
    body = english + foreign + short
    problems = H.text_problems(body)
    assert set(np.flatnonzero(problems["short"])) == set(range(len(body) - len(short), len(body)))
    assert max(len(t.split()) for t in foreign) <= 2  # the confounder: by spaces alone they are one or two words


def test_text_problems_find_empty_short_long_and_undecodable_texts(texts):
    body, _, truth = texts
    problems = H.text_problems(body)
    assert_found(np.flatnonzero(problems["empty"]), truth["empty"], "empty")
    assert_found(np.flatnonzero(problems["short"]), truth["short"], "short")
    assert_found(np.flatnonzero(problems["long"]), truth["long"], "long")
    assert_found(np.flatnonzero(problems["bad_chars"]), truth["bad_chars"], "undecodable")


def test_text_duplicates_with_different_labels_are_found(texts):
    body, labels, truth = texts
    keys = [H.normalise_text(t) for t in body]
    exact = H.exact_groups(keys)
    near = H.text_near_duplicate_groups(H.minhash_signatures(body), valid=np.array([len(k) >= 20 for k in keys]))
    conflicts = {i for g in H.conflicting_groups(exact + near, np.array(labels)) for i in g}
    assert_found(conflicts, truth["conflict"], "conflicting text duplicates")
    # Whitespace-only texts are "the same" but have no content: they are no duplicate group.
    assert all(keys[g[0]] for g in exact)


def test_minhash_estimates_jaccard_similarity():
    a = "the quick brown fox jumps over the lazy dog " * 3
    b = a.replace("lazy", "sleepy")
    sig = H.minhash_signatures([a, b, "completely different words in this one"], num_perm=256)
    assert (sig[0] == sig[1]).mean() > 0.6
    assert (sig[0] == sig[2]).mean() < 0.1


def test_class_balance_reports_rare_classes_and_the_imbalance_ratio():
    result = H.class_balance(np.array([300, 280, 10, 310]))
    assert result["rare"] == [2]
    assert result["imbalance_ratio"] == pytest.approx(31.0)
    assert H.class_balance(np.array([5, 0, 5]))["imbalance_ratio"] == float("inf")
    assert H.class_balance(np.array([100, 100, 100]))["rare"] == []


def test_slice_accuracy_finds_only_the_noisier_slice():
    rng = np.random.default_rng(0)
    n = 600
    times = rng.choice(["day", "night"], size=n, p=[0.8, 0.2])
    places = rng.choice(["north", "south", "east"], size=n)
    correct = np.where(times == "night", rng.random(n) < 0.6, rng.random(n) < 0.95)
    meta = [{"time": t, "place": p, "id": i} for i, (t, p) in enumerate(zip(times, places, strict=True))]
    rows = H.slice_accuracy(correct, meta)
    weak = [(r["field"], r["value"]) for r in rows if r["weak"]]
    assert weak == [("time", "night")]
    assert rows[0]["field"] == "time" and rows[0]["value"] == "night"
    assert not any(r["field"] == "id" for r in rows)  # a field with a value per item is no slice


def test_classification_report_matches_hand_worked_case():
    report = H.classification_report(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 3)
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report["precision"][1] == pytest.approx(2 / 3, abs=1e-4)
    assert report["recall"][0] == 0.5
    assert H.worst_classes(report, k=1) == [2]


def test_no_class_is_worst_when_every_class_scores_alike():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert H.worst_classes(H.classification_report(y, y, 3), k=3) == []  # all 1.00: nothing to point at
    report = H.classification_report(y, np.array([0, 0, 1, 1, 2, 0]), 3)
    assert H.worst_classes(report, k=3) == [2, 0]  # class 1 is perfect: it is never listed among the worst


def test_expected_calibration_error_hand_worked():
    # Two bins used: 0.9-confident rows right 1 of 2 times (gap 0.4), 0.6-confident right 2 of 2 (gap 0.4).
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 1, 0, 1])
    assert H.expected_calibration_error(proba, y) == pytest.approx(0.4)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert H.expected_calibration_error(perfect, np.array([0, 1])) == 0.0


def test_annotator_accuracy_and_agreement():
    per = H.annotator_accuracy(np.array([1, 1, 2, 2, 3]), np.array([0, 1, 0, 0, 1]), np.array([0, 1, 1, -1, 1]))
    assert per == {1: (2, 2), 2: (0, 1), 3: (1, 1)}
    summary = H.human_vs_model(per, 0.5)
    assert summary["human_accuracy"] == 0.75 and summary["model_share_of_human"] == pytest.approx(2 / 3)
    item = np.array([10, 10, 10, 11, 11, 12])
    label = np.array([0, 0, 1, 2, 2, 1])
    agreement, n = H.pairwise_agreement(item, label)
    matrix = np.array([[0, 0, 1], [2, 2, -1], [1, -1, -1]])
    assert n == 2 and agreement == pytest.approx(pairwise_percent_agreement(matrix))


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert H.psi(ref, rng.normal(size=5000)) < 0.02
    assert H.psi(ref, rng.normal(loc=1.0, size=5000)) > H.PSI_MAJOR
    assert H.drift_verdict(0.05) == "no meaningful shift" and H.drift_verdict(0.3) == "major shift"
    assert H.psi_from_shares(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    groups = H.feature_group_psi(np.c_[ref, ref], np.c_[ref, ref + 2], {"a": slice(0, 1), "b": slice(1, 2)})
    assert groups["a"] == 0.0 and groups["b"] > 1


def test_outliers_find_points_far_from_the_cloud():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 5)), rng.normal(loc=12, size=(4, 5))])
    mask = H.outliers(X)
    assert set(np.flatnonzero(mask)) >= {300, 301, 302, 303}
    assert mask[:300].sum() <= 6
