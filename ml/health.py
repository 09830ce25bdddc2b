"""Data health: find what is wrong with a training set (images, texts, labels, model, drift) over plain arrays.

Every function takes arrays or Python values and returns arrays, masks or small dicts; nothing here knows
about Django. Thresholds are keyword arguments with defaults that suit typical photos and short texts.
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

# ---------------------------------------------------------------- class balance


def class_balance(counts: np.ndarray, *, rare_share: float | None = None) -> dict:
    """Shares, imbalance ratio and rare classes from per-class counts, shape (n_classes,).

    A class is rare when its share is below ``rare_share`` (default: half of an even share, 0.5 / n_classes).
    The imbalance ratio is largest / smallest count over classes that have any example (inf when one is empty).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or len(counts) == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}")
    total = int(counts.sum())
    n = len(counts)
    threshold = 0.5 / n if rare_share is None else float(rare_share)
    shares = counts / total if total else np.zeros(n)
    nonzero = counts[counts > 0]
    if total == 0:
        ratio = float("nan")
    elif len(nonzero) < n:
        ratio = float("inf")
    else:
        ratio = float(nonzero.max() / nonzero.min())
    rare = [int(i) for i in np.flatnonzero(shares < threshold)] if total else []
    return {"total": total, "shares": [round(float(s), 4) for s in shares], "imbalance_ratio": ratio,
            "rare": rare, "threshold": threshold}


# ---------------------------------------------------------------- images

ANALYSIS_SIDE = 256  # images are measured at most this wide/high, so a 40 MP photo costs like a small one


@dataclass
class ImageStats:
    """Measurements of one image; ``readable`` False means the file could not be decoded."""

    readable: bool
    width: int = 0
    height: int = 0
    mean: float = 0.0  # grey level 0-255
    p01: float = 0.0  # 1st percentile of grey levels
    p99: float = 0.0  # 99th percentile
    sharpness: float = 0.0  # variance of the Laplacian on the grey image
    pixel_hash: str = ""  # hash of the decoded pixels: same picture in another file format still matches
    phash: int = 0  # 64-bit perceptual hash


def _laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a 2-D float array (0 for images under 3x3)."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1])
    return float(lap.var())


def image_stats(image: Image.Image) -> ImageStats:
    """Measure one decoded image: size, brightness histogram percentiles, sharpness and hashes."""
    import imagehash

    image.load()
    rgb = image.convert("RGB")
    pixel_hash = hashlib.sha1(rgb.tobytes() + f"{rgb.width}x{rgb.height}".encode(), usedforsecurity=False).hexdigest()
    grey_img = rgb.convert("L")
    if max(grey_img.size) > ANALYSIS_SIDE:
        grey_img = grey_img.copy()
        grey_img.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.BILINEAR)
    grey = np.asarray(grey_img, dtype=np.float64)
    hist = np.bincount(grey.astype(np.uint8).ravel(), minlength=256)
    cdf = np.cumsum(hist) / hist.sum()
    return ImageStats(
        readable=True, width=image.width, height=image.height, mean=float(grey.mean()),
        p01=float(np.searchsorted(cdf, 0.01)), p99=float(np.searchsorted(cdf, 0.99)),
        sharpness=_laplacian_variance(grey), pixel_hash=pixel_hash,
        phash=int(str(imagehash.phash(rgb)), 16),
    )


def read_image_stats(fileobj) -> ImageStats:
    """``image_stats`` of an open binary file; an unreadable or truncated file gives ``readable=False``."""
    try:
        with Image.open(fileobj) as img:
            return image_stats(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return ImageStats(readable=False)


def exposure(stats: list[ImageStats], *, dark_mean: float = 40.0, dark_p99: float = 80.0,
             bright_mean: float = 215.0, bright_p01: float = 175.0) -> tuple[np.ndarray, np.ndarray]:
    """(under, over) boolean masks, shape (n,). Under: dark on average and hardly anything bright;
    over: bright on average and hardly anything dark. Black-on-white drawings keep their dark ink, so
    they are not over-exposed."""
    mean = np.array([s.mean for s in stats])
    p01 = np.array([s.p01 for s in stats])
    p99 = np.array([s.p99 for s in stats])
    ok = np.array([s.readable for s in stats], dtype=bool)
    under = ok & (mean <= dark_mean) & (p99 <= dark_p99)
    over = ok & (mean >= bright_mean) & (p01 >= bright_p01)
    return under, over


def blurry(stats: list[ImageStats], *, threshold: float = 100.0, exclude: np.ndarray | None = None) -> np.ndarray:
    """Mask of blurry images (Laplacian variance below ``threshold``), shape (n,).

    Images in ``exclude`` (e.g. all-black ones, which have no edges at all) are not reported again.
    """
    sharp = np.array([s.sharpness for s in stats])
    ok = np.array([s.readable for s in stats], dtype=bool)
    mask = ok & (sharp < threshold)
    if exclude is not None:
        mask &= ~np.asarray(exclude, dtype=bool)
    return mask


def too_small(stats: list[ImageStats], *, min_side: int = 32) -> np.ndarray:
    """Mask of readable images whose shorter side is below ``min_side`` pixels, shape (n,)."""
    return np.array([s.readable and min(s.width, s.height) < min_side for s in stats], dtype=bool)


def _popcount64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    count = np.zeros(x.shape, dtype=np.int64)
    for shift in range(0, 64, 8):
        count += _POP8[((x >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.int64)]
    return count


_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def _union_find_groups(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def exact_groups(keys: list) -> list[list[int]]:
    """Groups (lists of row indices, size >= 2) of rows with equal, non-empty keys."""
    by_key: dict = {}
    for i, k in enumerate(keys):
        if k:
            by_key.setdefault(k, []).append(i)
    return [g for g in by_key.values() if len(g) > 1]


def near_duplicate_groups(hashes: np.ndarray, *, max_distance: int = 4, valid: np.ndarray | None = None,
                          max_bucket: int = 2000) -> list[list[int]]:
    """Groups of rows whose 64-bit perceptual hashes differ in at most ``max_distance`` bits.

    Multi-index hashing: split the 64 bits into ``max_distance + 1`` bands; by the pigeonhole principle two
    hashes within the distance agree exactly on at least one band, so only rows sharing a band are compared.
    That keeps a million images tractable. Buckets above ``max_bucket`` rows (e.g. thousands of blank
    images) are compared to their first row only.
    """
    h = np.asarray(hashes, dtype=np.uint64)
    n = len(h)
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    bands = max_distance + 1
    edges = np.linspace(0, 64, bands + 1).astype(int)
    pairs: set[tuple[int, int]] = set()
    rows = np.flatnonzero(valid)
    for b in range(bands):
        lo, hi = edges[b], edges[b + 1]
        mask = np.uint64(((1 << (hi - lo)) - 1) << lo)
        keys = (h[rows] & mask)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(sorted_keys)]
        for s, e in zip(starts, ends, strict=True):
            if e - s < 2:
                continue
            members = rows[order[s:e]]
            if len(members) > max_bucket:
                first = members[0]
                dist = _popcount64(h[members] ^ h[first])
                pairs.update((int(first), int(m)) for m in members[1:][dist[1:] <= max_distance])
                continue
            block = h[members]
            dist = _popcount64(block[:, None] ^ block[None, :])
            ii, jj = np.nonzero(np.triu(dist <= max_distance, k=1))
            pairs.update((int(members[i]), int(members[j])) for i, j in zip(ii, jj, strict=True))
    return _union_find_groups(n, sorted(pairs))


def conflicting_groups(groups: list[list[int]], labels: np.ndarray) -> list[list[int]]:
    """The duplicate groups whose labeled members (label >= 0) carry more than one distinct label."""
    labels = np.asarray(labels)
    return [g for g in groups if len({int(labels[i]) for i in g if labels[i] >= 0}) > 1]


def outliers(X, *, random_state: int = 0, max_fit: int = 20000, threshold: float = -0.6,
             n_components: int = 50) -> np.ndarray:
    """Mask of rows far from the rest in feature space, shape (n_rows,), by IsolationForest.

    Sparse input (TF-IDF) is reduced with TruncatedSVD first. The forest is fitted on at most ``max_fit``
    rows and scores all; a row is an outlier when its score is below ``threshold`` (scikit-learn's
    ``score_samples``: about -0.5 for ordinary rows, towards -1 for isolated ones).
    """
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD
    from sklearn.ensemble import IsolationForest

    n = X.shape[0]
    if n < 20:
        return np.zeros(n, dtype=bool)
    if sparse.issparse(X):
        k = max(1, min(n_components, X.shape[1] - 1, n - 1))
        X = TruncatedSVD(n_components=k, random_state=random_state).fit_transform(X)
    X = np.asarray(X, dtype=np.float32)
    rng = np.random.default_rng(random_state)
    fit_rows = rng.choice(n, size=min(n, max_fit), replace=False)
    forest = IsolationForest(n_estimators=100, random_state=random_state).fit(X[fit_rows])
    return forest.score_samples(X) < threshold


# ---------------------------------------------------------------- texts

_CONTROL_OK = {"\t", "\n", "\r"}
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Case-folded NFKC text without punctuation and with single spaces: the key for exact duplicates."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def text_problems(texts: list[str], *, min_chars: int = 3, long_factor: float = 10.0,
                  long_min: int = 2000) -> dict[str, np.ndarray]:
    """Masks, each shape (n,): ``empty`` (blank or whitespace), ``short`` (under ``min_chars`` visible
    characters), ``long`` (over ``long_factor`` x the median length and over ``long_min`` characters) and
    ``bad_chars`` (U+FFFD replacement characters or control characters: a decoding accident)."""
    lengths = np.array([len(t) for t in texts])
    visible = np.array([len(t.strip()) for t in texts])
    median = float(np.median(lengths[visible > 0])) if (visible > 0).any() else 0.0
    empty = visible == 0
    short = ~empty & (np.array([len("".join(t.split())) for t in texts]) < min_chars)
    long = lengths > max(long_factor * median, long_min)
    bad = np.array([_has_bad_chars(t) for t in texts], dtype=bool)
    return {"empty": empty, "short": short, "long": long, "bad_chars": bad}


def _has_bad_chars(text: str) -> bool:
    if "\ufffd" in text:
        return True
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in _CONTROL_OK for c in text)


_PRIME = (1 << 61) - 1


def minhash_signatures(texts: list[str], *, num_perm: int = 128, shingle: int = 5,
                       random_state: int = 0) -> np.ndarray:
    """MinHash signatures of character ``shingle``-grams of the normalised texts, shape (n, num_perm).

    Two signatures agree in a share of positions that estimates the Jaccard similarity of the shingle sets.
    Empty texts get a row of the maximum value (they match nothing but each other).
    """
    rng = np.random.default_rng(random_state)
    # As in datasketch: a*x + b wraps modulo 2^64 before the Mersenne-prime modulus; that is still a good
    # random permutation for MinHash (small a would keep the order of x and make every permutation alike).
    a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)
    out = np.full((len(texts), num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    for i, text in enumerate(texts):
        norm = normalise_text(text)
        if not norm:
            continue
        grams = {norm[j:j + shingle] for j in range(max(1, len(norm) - shingle + 1))}
        x = np.array([zlib.crc32(g.encode("utf-8")) for g in grams], dtype=np.uint64)
        hashed = ((x[:, None] * a[None, :] + b[None, :]) % np.uint64(_PRIME)) & np.uint64(0xFFFFFFFF)
        out[i] = hashed.min(axis=0)
    return out


def text_near_duplicate_groups(signatures: np.ndarray, *, threshold: float = 0.7, bands: int = 32,
                               valid: np.ndarray | None = None, max_bucket: int = 500) -> list[list[int]]:
    """Groups of texts whose estimated Jaccard similarity is at least ``threshold`` (LSH banding)."""
    sig = np.asarray(signatures)
    n, k = sig.shape
    rows_per_band = k // bands
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    rows = np.flatnonzero(valid)
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        part = sig[rows, band * rows_per_band:(band + 1) * rows_per_band]
        buckets: dict[bytes, list[int]] = {}
        for r, key in zip(rows, part, strict=True):
            buckets.setdefault(key.tobytes(), []).append(int(r))
        for members in buckets.values():
            if len(members) < 2:
                continue
            members = members[:max_bucket]
            block = sig[members]
            sim = (block[:, None, :] == block[None, :, :]).mean(axis=2)
            ii, jj = np.nonzero(np.triu(sim >= threshold, k=1))
            pairs.update((members[i], members[j]) for i, j in zip(ii, jj, strict=True))
    return _union_find_groups(n, sorted(pairs))


# ---------------------------------------------------------------- model performance


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy, per-class precision/recall/F1/support lists and the confusion matrix (rows: true)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    labels = list(range(n_classes))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=labels) if len(y_true) else np.zeros((n_classes, n_classes), int)
    return {"accuracy": float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
            "precision": p.round(4).tolist(), "recall": r.round(4).tolist(), "f1": f.round(4).tolist(),
            "support": s.astype(int).tolist(), "confusion": cm.astype(int).tolist()}


def worst_classes(report: dict, *, k: int = 3) -> list[int]:
    """Up to ``k`` class indices with the lowest F1 among classes that have support, worst first."""
    f1, support = np.array(report["f1"]), np.array(report["support"])
    ranked = [int(i) for i in np.argsort(f1, kind="stable") if support[i] > 0]
    return ranked[:k]


def slice_accuracy(correct: np.ndarray, metadata: list[dict], *, max_values: int = 50,
                   min_count: int = 10, min_gap: float = 0.1, min_z: float = 2.0) -> list[dict]:
    """Accuracy per value of every metadata field, worst first.

    ``correct``: (n,) booleans (model prediction equals the label); ``metadata``: n dicts. Fields with more
    than ``max_values`` distinct values (ids, free text) are skipped. Each row: field, value, count,
    accuracy, rest_accuracy and ``weak``: at least ``min_count`` items, accuracy ``min_gap`` below the rest
    and a two-proportion z statistic of at least ``min_z`` (so a bad streak in 3 items is not a finding).
    """
    correct = np.asarray(correct, dtype=bool)
    fields: dict[str, dict[str, list[int]]] = {}
    for i, meta in enumerate(metadata):
        for key, value in (meta or {}).items():
            if isinstance(value, dict | list) or value is None:
                continue
            fields.setdefault(str(key), {}).setdefault(str(value), []).append(i)
    rows = []
    for field, values in fields.items():
        if len(values) > max_values or len(values) < 2:
            continue
        for value, idx in values.items():
            idx = np.array(idx)
            inside = correct[idx]
            rest = np.delete(correct, idx)
            acc = float(inside.mean())
            rest_acc = float(rest.mean()) if len(rest) else float("nan")
            z = _two_proportion_z(rest_acc, len(rest), acc, len(idx))
            weak = bool(len(idx) >= min_count and rest_acc - acc >= min_gap and z >= min_z)
            rows.append({"field": field, "value": value, "count": int(len(idx)), "accuracy": round(acc, 4),
                         "rest_accuracy": round(rest_acc, 4), "z": round(z, 2), "weak": weak,
                         "rows": idx.tolist()})
    rows.sort(key=lambda r: (r["accuracy"], -r["count"]))
    return rows


def _two_proportion_z(p1: float, n1: int, p2: float, n2: int) -> float:
    if not n1 or not n2:
        return 0.0
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n1 + 1 / n2))
    return (p1 - p2) / se


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over ``n_bins`` equal-width bins
    of the top-class probability. ``proba`` (n, n_classes), ``y`` (n,) ints. 0 is perfectly calibrated."""
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=int)
    if len(y) == 0:
        return float("nan")
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(conf[in_bin].mean() - correct[in_bin].mean())
    return float(ece)


# ---------------------------------------------------------------- human baseline


def annotator_accuracy(annotator: np.ndarray, label: np.ndarray, reference: np.ndarray) -> dict[int, tuple[int, int]]:
    """Per annotator: (correct, total) of their labels against the reference label of the same item.

    Three aligned arrays, one row per annotation: annotator id, the annotator's label, the item's
    reference (consensus or final) label; rows with reference < 0 are skipped.
    """
    out: dict[int, list[int]] = {}
    for a, lab, ref in zip(np.asarray(annotator), np.asarray(label), np.asarray(reference), strict=True):
        if ref < 0:
            continue
        row = out.setdefault(int(a), [0, 0])
        row[0] += int(lab == ref)
        row[1] += 1
    return {a: (c, t) for a, (c, t) in out.items()}


def pairwise_agreement(item: np.ndarray, label: np.ndarray) -> tuple[float, int]:
    """Share of agreeing annotator pairs over items with two or more labels, and the number of such items.

    ``item`` and ``label``: aligned arrays, one row per annotation. NaN when no item has two labels.
    """
    item, label = np.asarray(item), np.asarray(label)
    if len(item) == 0:
        return float("nan"), 0
    order = np.lexsort((label, item))
    item, label = item[order], label[order]
    agree = total = items = 0
    starts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
    for s, e in zip(starts, np.r_[starts[1:], len(item)], strict=True):
        n = e - s
        if n < 2:
            continue
        counts = np.unique(label[s:e], return_counts=True)[1]
        agree += int((counts * (counts - 1)).sum() // 2)
        total += n * (n - 1) // 2
        items += 1
    return (agree / total if total else float("nan")), items


def human_vs_model(human: dict[int, tuple[int, int]], model_accuracy: float | None) -> dict:
    """Pooled human accuracy next to the model's, and the model as a share of human level."""
    correct = sum(c for c, _ in human.values())
    total = sum(t for _, t in human.values())
    human_acc = correct / total if total else None
    ratio = model_accuracy / human_acc if (human_acc and model_accuracy is not None) else None
    return {"human_accuracy": human_acc, "human_n": total, "model_accuracy": model_accuracy,
            "model_share_of_human": ratio}


# ---------------------------------------------------------------- drift

PSI_MODERATE, PSI_MAJOR = 0.1, 0.25


def psi(expected: np.ndarray, actual: np.ndarray, *, bins: int = 10) -> float:
    """Population stability index of one feature: ``expected`` (reference) vs ``actual`` values.

    Bins are reference quantiles (so a constant feature gives 0), at most one per 20 values of the smaller
    sample: with few values, many bins make PSI large by chance alone. Shares are smoothed by half a count
    per bin so an empty bin does not make it explode.
    """
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if len(expected) == 0 or len(actual) == 0:
        return float("nan")
    bins = int(np.clip(min(len(expected), len(actual)) // 20, 2, bins))
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    return psi_from_shares(e + 0.5, a + 0.5)


def psi_from_shares(expected: np.ndarray, actual: np.ndarray, *, eps: float = 1e-4) -> float:
    """PSI between two distributions over the same categories (shares or counts, e.g. of classes)."""
    e = np.clip(np.asarray(expected, dtype=np.float64), eps, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), eps, None)
    e, a = e / e.sum(), a / a.sum()
    return float(((a - e) * np.log(a / e)).sum())


def feature_group_psi(X_ref: np.ndarray, X_new: np.ndarray, groups: dict[str, slice], *, bins: int = 10) -> dict[str, float]:
    """Mean PSI over the columns of each named column group (e.g. {"pixels": slice(0, 256)})."""
    out = {}
    for name, cols in groups.items():
        values = [psi(X_ref[:, c], X_new[:, c], bins=bins) for c in range(*cols.indices(X_ref.shape[1]))]
        values = [v for v in values if not math.isnan(v)]
        out[name] = round(float(np.mean(values)), 4) if values else float("nan")
    return out


def drift_verdict(value: float) -> str:
    """Plain words for a PSI value."""
    if value is None or math.isnan(value):
        return "not enough data"
    if value < PSI_MODERATE:
        return "no meaningful shift"
    if value < PSI_MAJOR:
        return "moderate shift"
    return "major shift"


def histogram(values: np.ndarray, *, bins: int = 10, range_: tuple[float, float] = (0.0, 1.0)) -> dict:
    """Counts and bin edges of ``values`` (e.g. label-quality scores in [0, 1])."""
    counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=bins, range=range_)
    return {"counts": counts.astype(int).tolist(), "edges": [round(float(e), 4) for e in edges]}
