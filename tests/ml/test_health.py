"""ml.health on small data sets with planted defects: each defect found with precision and recall >= 0.9."""
import numpy as np
import pytest

from ml import health as H
from ml.agreement import pairwise_percent_agreement
from tests.health_data import defect_images, defect_texts, encode


def precision_recall(found: set[int], truth: set[int]) -> tuple[float, float]:
    tp = len(found & truth)
    return (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0)


def assert_found(found, truth, what):
    found = {int(i) for i in found}
    p, r = precision_recall(found, truth)
    assert p >= 0.9 and r >= 0.9, f"{what}: precision {p:.2f}, recall {r:.2f}; extra {found - truth}, missed {truth - found}"


@pytest.fixture(scope="module")
def images():
    imgs, truth = defect_images()
    return [H.image_stats(img) for img in imgs], truth


def test_dark_and_bright_images_are_found_and_drawings_with_ink_are_not_overexposed(images):
    stats, truth = images
    under, over = H.exposure(stats)
    assert_found(np.flatnonzero(under), truth["dark"], "under-exposed")
    assert_found(np.flatnonzero(over), truth["bright"], "over-exposed")
    drawing = np.full((64, 64), 255, dtype=np.uint8)
    drawing[20:44, 28:36] = 0  # black ink on white paper, 6% of the pixels
    from PIL import Image
    assert not H.exposure([H.image_stats(Image.fromarray(drawing))])[1][0]


def test_blurry_images_are_found_and_blank_ones_are_left_to_the_exposure_check(images):
    stats, truth = images
    under, over = H.exposure(stats)
    assert_found(np.flatnonzero(H.blurry(stats, exclude=under | over)), truth["blurry"], "blurry")


def test_images_below_the_minimum_side_are_too_small(images):
    stats, truth = images
    assert_found(np.flatnonzero(H.too_small(stats)), truth["tiny"], "too small")


def test_exact_and_near_duplicates_and_their_label_conflicts_are_found(images):
    stats, truth = images
    exact = H.exact_groups([s.pixel_hash for s in stats])
    flat = np.array([(s.p99 - s.p01) < 8 for s in stats])
    near = H.near_duplicate_groups(np.array([s.phash for s in stats], dtype=np.uint64), valid=~flat)
    exact_items = {i for g in exact for i in g}
    near_items = {i for g in near for i in g}
    assert_found(exact_items, truth["exact"] | {i for i in truth["conflict"] if i < 5}, "exact duplicates")
    assert truth["near"] <= near_items
    labels = np.zeros(len(stats), dtype=int)
    for i in truth["exact"] | truth["near"]:
        labels[i] = 1  # the copies carry another label than their originals (class 0)
    conflicts = {i for g in H.conflicting_groups(exact + near, labels) for i in g}
    assert_found(conflicts, truth["conflict"], "conflicting duplicates")


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
