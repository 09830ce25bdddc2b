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

from ml.features import UNSPACED_RE

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
THUMB_SIDE = 16  # grey thumbnail kept to confirm that two near-duplicate hashes are really the same picture


@dataclass
class ImageStats:
    """Measurements of one image; ``readable`` False means the file could not be decoded."""

    readable: bool
    width: int = 0
    height: int = 0
    mean: float = 0.0  # grey level 0-255
    p01: float = 0.0  # 1st percentile of grey levels
    p99: float = 0.0  # 99th percentile
    sharpness: float = 0.0  # strongest edges (Laplacian) over the grey range: see _sharpness
    pixel_hash: str = ""  # hash of the decoded pixels: same picture in another file format still matches
    phash: int = 0  # 64-bit perceptual hash
    thumb: bytes = b""  # THUMB_SIDE x THUMB_SIDE grey thumbnail


def _sharpness(grey: np.ndarray) -> float:
    """Edge strength that does not depend on exposure: the 99.5th percentile of the absolute Laplacian of the
    grey image (smoothed by sigma 1 so sensor noise does not count as detail) over its 1-99% grey range. The
    strongest edges decide: a sharp photo of a smooth scene still has some. 0 for images under 3x3 or flat."""
    from skimage.filters import gaussian, laplace

    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    low, high = np.percentile(grey, [1, 99])
    if high - low < 2.0:
        return 0.0
    edges = np.abs(laplace(gaussian(grey, sigma=1.0, preserve_range=True)))
    return float(np.percentile(edges, 99.5) / (high - low))


def image_stats(image: Image.Image) -> ImageStats:
    """Measure one decoded image: size, brightness histogram percentiles, sharpness, thumbnail and hashes."""
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
    thumb = grey_img.resize((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR).tobytes()
    return ImageStats(
        readable=True, width=image.width, height=image.height, mean=float(grey.mean()),
        p01=float(np.searchsorted(cdf, 0.01)), p99=float(np.searchsorted(cdf, 0.99)),
        sharpness=_sharpness(grey), pixel_hash=pixel_hash, phash=int(str(imagehash.phash(rgb)), 16), thumb=thumb,
    )


def read_image_stats(fileobj) -> ImageStats:
    """``image_stats`` of an open binary file; an unreadable or truncated file gives ``readable=False``."""
    try:
        with Image.open(fileobj) as img:
            return image_stats(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return ImageStats(readable=False)


# Robust statistics: a value is unusual when it is more than Z_LIMIT robust standard deviations (1.4826 x the
# median absolute deviation) from the median of its slice.
Z_LIMIT = 3.5
MIN_SLICE = 20  # a metadata slice needs this many images to have its own median; smaller ones use everyone's


def robust_z(values: np.ndarray, *, groups: np.ndarray | None = None, valid: np.ndarray | None = None,
             min_group: int = MIN_SLICE, min_scale: float = 1e-6) -> np.ndarray:
    """(value - median) / (1.4826 MAD) within each group (e.g. a metadata slice), shape (n,); NaN where not valid.

    Groups with fewer than ``min_group`` valid rows are measured against all valid rows. ``min_scale`` keeps a
    group of near-identical values from making every small difference "unusual".
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    groups = np.zeros(n, dtype=int) if groups is None else np.asarray(groups)
    z = np.full(n, np.nan)
    if not valid.any():
        return z
    everyone = _median_scale(values[valid], min_scale)
    for g in np.unique(groups[valid]):
        rows = valid & (groups == g)
        centre, scale = _median_scale(values[rows], min_scale) if rows.sum() >= min_group else everyone
        z[rows] = (values[rows] - centre) / scale
    return z


def _median_scale(values: np.ndarray, min_scale: float) -> tuple[float, float]:
    centre = float(np.median(values))
    return centre, max(1.4826 * float(np.median(np.abs(values - centre))), min_scale)


def slice_field(values: np.ndarray, metadata: list[dict], *, valid: np.ndarray | None = None,
                max_values: int = 12, min_group: int = MIN_SLICE, min_share: float = 0.2) -> str | None:
    """The metadata field whose values explain most of the spread of ``values`` (e.g. ``time_of_day`` for
    brightness), or None when no field explains at least ``min_share`` of the variance (eta squared).

    Only fields with 2 to ``max_values`` values, each on at least ``min_group`` valid rows, are candidates."""
    values = np.asarray(values, dtype=np.float64)
    valid = np.ones(len(values), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    total = float(values[valid].var()) if valid.sum() > 1 else 0.0
    best, best_share = None, min_share
    for name, column in _categorical_fields(metadata, max_values).items():
        rows = valid & (column != "")
        kinds, counts = np.unique(column[rows], return_counts=True)
        if len(kinds) < 2 or counts.min() < min_group or not total:
            continue
        within = sum(float(values[rows & (column == k)].var()) * c for k, c in zip(kinds, counts, strict=True))
        share = 1 - within / (total * rows.sum())
        if share > best_share:
            best, best_share = name, share
    return best


def _categorical_fields(metadata: list[dict], max_values: int) -> dict[str, np.ndarray]:
    """Each metadata field with few distinct scalar values, as a string column ("" where missing)."""
    names: dict[str, set] = {}
    for meta in metadata:
        for key, value in (meta or {}).items():
            if not isinstance(value, dict | list) and value is not None:
                names.setdefault(str(key), set()).add(str(value))
    out = {}
    for key, seen in names.items():
        if 2 <= len(seen) <= max_values:
            out[key] = np.array([str((m or {}).get(key, "")) if (m or {}).get(key) is not None else ""
                                 for m in metadata])
    return out


def slice_column(metadata: list[dict], name: str | None) -> np.ndarray:
    """The values of metadata field ``name`` as strings, shape (n,) ("" where missing or when name is None)."""
    if name is None:
        return np.full(len(metadata), "", dtype=object)
    return np.array([str((m or {}).get(name)) if (m or {}).get(name) is not None else "" for m in metadata],
                    dtype=object)


def blank(stats: list[ImageStats], *, black_p99: float = 12.0, white_p01: float = 243.0) -> tuple[np.ndarray, np.ndarray]:
    """(black, white) masks, shape (n,): the absolute floor for broken images, whatever the project's photos
    look like. Black: 99% of pixels at grey level 12 or less; white: 99% at 243 or more."""
    ok = np.array([s.readable for s in stats], dtype=bool)
    p01 = np.array([s.p01 for s in stats])
    p99 = np.array([s.p99 for s in stats])
    return ok & (p99 <= black_p99), ok & (p01 >= white_p01)


def exposure(stats: list[ImageStats], *, slices: np.ndarray | None = None, z_limit: float = Z_LIMIT,
             dark_cap: float = 90.0, bright_floor: float = 170.0, shadow_floor: float = 32.0,
             exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(under, over) boolean masks, shape (n,), relative to the project's own photos.

    Under: the log of the mean grey level is more than ``z_limit`` robust SDs below the median of the image's
    slice (e.g. night photos against night photos) and the mean is under ``dark_cap``. Over: the log of the
    distance to white (256 - mean) is that far below its slice's median, the mean is over ``bright_floor``, the
    highlights are clipped (99th percentile at 250 or more) and the shadows are lifted: the darkest 1% of the
    pixels (``p01``) sits at ``shadow_floor`` or above and more than ``z_limit`` robust SDs above its slice's
    median. A bright mean alone is content, not exposure: a thin dark stroke on white paper (a digit, a
    document, a product shot on white) keeps its blacks, a washed-out photo loses them.
    ``exclude`` (e.g. blank images, reported by themselves) are never reported here.
    """
    mean = np.array([s.mean for s in stats])
    ok = np.array([s.readable for s in stats], dtype=bool)
    if exclude is not None:
        ok &= ~np.asarray(exclude, dtype=bool)
    dark_z = robust_z(np.log1p(mean), groups=slices, valid=ok, min_scale=0.05)
    bright_z = robust_z(np.log(256.0 - mean), groups=slices, valid=ok, min_scale=0.05)
    under = ok & (dark_z < -z_limit) & (mean < dark_cap)
    p99 = np.array([s.p99 for s in stats])
    p01 = np.array([s.p01 for s in stats])
    lifted = (p01 >= shadow_floor) & (robust_z(p01, groups=slices, valid=ok, min_scale=4.0) > z_limit)
    over = ok & (bright_z < -z_limit) & (mean > bright_floor) & (p99 >= 250) & lifted
    return under, over


def blurry(stats: list[ImageStats], *, slices: np.ndarray | None = None, z_limit: float = Z_LIMIT,
           exclude: np.ndarray | None = None) -> np.ndarray:
    """Mask of blurry images, shape (n,): the log of the exposure-independent sharpness is more than
    ``z_limit`` robust SDs below the median of the image's slice. Images in ``exclude`` (blank, badly exposed:
    they have no edges to measure) are not reported."""
    sharp = np.array([s.sharpness for s in stats])
    ok = np.array([s.readable and s.sharpness > 0 for s in stats], dtype=bool)
    if exclude is not None:
        ok &= ~np.asarray(exclude, dtype=bool)
    z = robust_z(np.log(np.maximum(sharp, 1e-9)), groups=slices, valid=ok, min_scale=0.1)
    return ok & (z < -z_limit)


def too_small(stats: list[ImageStats], *, min_side: int = 32, share_of_median: float = 0.25) -> np.ndarray:
    """Mask of readable images whose shorter side is under ``min_side`` pixels or under ``share_of_median`` of
    the median shorter side of the project's images, shape (n,)."""
    sides = np.array([min(s.width, s.height) if s.readable else 0 for s in stats], dtype=float)
    ok = sides > 0
    limit = max(min_side, share_of_median * float(np.median(sides[ok]))) if ok.any() else min_side
    return ok & (sides < limit)


def _popcount64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    count = np.zeros(x.shape, dtype=np.int64)
    for shift in range(0, 64, 8):
        count += _POP8[((x >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.int64)]
    return count


_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def _components(n: int, pairs) -> list[list[int]]:
    """Connected components (size >= 2) of the graph with these edges, by union-find."""
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


def clique_groups(n: int, pairs, distance, max_distance: float, *, max_component: int = 500) -> list[list[int]]:
    """Groups (size >= 2) in which EVERY pair is within ``max_distance``: complete-linkage clustering of each
    connected component of the candidate ``pairs``, so look-alike pairs never chain into one giant group.

    ``distance(members)`` returns the square distance matrix of an array of row indices. Components above
    ``max_component`` rows are clustered in consecutive pieces of that size.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    out: list[list[int]] = []
    for component in _components(n, pairs):
        for start in range(0, len(component), max_component):
            members = np.array(component[start:start + max_component])
            if len(members) < 2:
                continue
            d = np.asarray(distance(members), dtype=np.float64)
            np.fill_diagonal(d, 0.0)
            tree = linkage(squareform(d, checks=False), method="complete")
            cluster = fcluster(tree, t=max_distance, criterion="distance")
            for c in np.unique(cluster):
                group = sorted(int(i) for i in members[cluster == c])
                if len(group) > 1:
                    out.append(group)
    return sorted(out)


def exact_groups(keys: list) -> list[list[int]]:
    """Groups (lists of row indices, size >= 2) of rows with equal, non-empty keys."""
    by_key: dict = {}
    for i, k in enumerate(keys):
        if k:
            by_key.setdefault(k, []).append(i)
    return [g for g in by_key.values() if len(g) > 1]


def _hash_pairs(h: np.ndarray, rows: np.ndarray, max_distance: int, max_bucket: int) -> set[tuple[int, int]]:
    """Pairs of rows whose 64-bit hashes differ in at most ``max_distance`` bits (multi-index hashing)."""
    bands = max_distance + 1
    edges = np.linspace(0, 64, bands + 1).astype(int)
    pairs: set[tuple[int, int]] = set()
    for b in range(bands):
        lo, hi = edges[b], edges[b + 1]
        keys = h[rows] & np.uint64(((1 << (hi - lo)) - 1) << lo)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        for s, e in zip(starts, np.r_[starts[1:], len(sorted_keys)], strict=True):
            if e - s >= 2:
                pairs.update(_bucket_pairs(h, rows[order[s:e]], max_distance, max_bucket))
    return pairs


def _bucket_pairs(h: np.ndarray, members: np.ndarray, max_distance: int, max_bucket: int):
    if len(members) > max_bucket:  # e.g. thousands of blank images: compare with the first only
        dist = _popcount64(h[members] ^ h[members[0]])
        return [(int(members[0]), int(m)) for m in members[1:][dist[1:] <= max_distance]]
    block = h[members]
    ii, jj = np.nonzero(np.triu(_popcount64(block[:, None] ^ block[None, :]) <= max_distance, k=1))
    return [(int(members[i]), int(members[j])) for i, j in zip(ii, jj, strict=True)]


def near_duplicate_groups(hashes: np.ndarray, *, max_distance: int = 4, valid: np.ndarray | None = None,
                          max_bucket: int = 2000) -> list[list[int]]:
    """Groups of rows in which every pair of 64-bit perceptual hashes differs in at most ``max_distance`` bits.

    Multi-index hashing finds the candidate pairs: split the 64 bits into ``max_distance + 1`` bands; by the
    pigeonhole principle two hashes within the distance agree exactly on at least one band, so only rows sharing
    a band are compared. That keeps a million images tractable. The groups are then cliques (complete linkage),
    not chains: A~B and B~C do not put A and C together unless A~C.
    """
    h = np.asarray(hashes, dtype=np.uint64)
    n = len(h)
    valid = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    pairs = _hash_pairs(h, np.flatnonzero(valid), max_distance, max_bucket)
    hamming = lambda m: _popcount64(h[m][:, None] ^ h[m][None, :])  # noqa: E731
    return clique_groups(n, sorted(pairs), hamming, max_distance)


def very_near_image_groups(stats: list[ImageStats], *, max_bits: int = 4, max_grey: float = 2.0,
                           valid: np.ndarray | None = None) -> list[list[int]]:
    """Groups of images that are the same picture (re-compressed, resized by a few percent, re-encoded), every
    pair within ``max_bits`` bits of perceptual hash AND within ``max_grey`` mean grey-level difference of
    their 16x16 thumbnails. Look-alike pictures of different scenes fail the second test."""
    h = np.array([s.phash for s in stats], dtype=np.uint64)
    ok = np.array([s.readable and len(s.thumb) == THUMB_SIDE ** 2 for s in stats], dtype=bool)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    pairs = _hash_pairs(h, np.flatnonzero(ok), max_bits, 2000)
    # Thumbnails only of the rows in a candidate pair: a million images need not be held as floats.
    involved = sorted({i for pair in pairs for i in pair})
    slot = {i: k for k, i in enumerate(involved)}
    thumbs = np.array([np.frombuffer(stats[i].thumb, dtype=np.uint8) for i in involved], dtype=np.float32)

    def distance(m):  # 1 or less only when both tests pass
        bits = _popcount64(h[m][:, None] ^ h[m][None, :]) / max(max_bits, 1)
        t = thumbs[[slot[int(i)] for i in m]]
        grey = np.abs(t[:, None, :] - t[None, :, :]).mean(axis=2) / max_grey
        return np.maximum(bits, grey)

    return clique_groups(len(stats), sorted(pairs), distance, 1.0)


def image_problems(stats: list[ImageStats], metadata: list[dict] | None = None) -> dict:
    """Every per-image check in one pass, shape (n,) masks and duplicate groups.

    Broken images (unreadable, black, white) are caught by absolute floors; too small, under- and over-exposed
    and blurry are relative to the project's own images, within the metadata slice (``slice_field``, e.g.
    time_of_day) that best explains their brightness. An image is reported by the first of these that applies,
    so a black image is not also "under-exposed" and "blurry". ``exact``: identical pixels; ``near``: the same
    picture re-encoded or resized (cliques, never chains), groups already inside an exact group left out.
    """
    metadata = metadata if metadata is not None else [{}] * len(stats)
    unreadable = np.array([not s.readable for s in stats], dtype=bool)
    black, white = blank(stats)
    small = too_small(stats) & ~black & ~white
    broken = unreadable | black | white | small
    field = slice_field(np.log1p([s.mean for s in stats]), metadata, valid=~broken)
    slices = slice_column(metadata, field)
    under, over = exposure(stats, slices=slices, exclude=broken)
    blur = blurry(stats, slices=slices, exclude=broken | under | over)
    exact = exact_groups([s.pixel_hash for s in stats])
    exact_sets = [set(g) for g in exact]
    near = [g for g in very_near_image_groups(stats, valid=~(unreadable | black | white))
            if not any(set(g) <= e for e in exact_sets)]
    return {"unreadable": unreadable, "black": black, "white": white, "too_small": small, "underexposed": under,
            "overexposed": over, "blurry": blur, "slice_field": field, "exact": exact, "near": near}


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


def text_problems(texts: list[str], *, min_words: int = 3, share_of_median: float = 0.15, min_chars: int = 3,
                  long_factor: float = 10.0, long_min: int = 2000) -> dict[str, np.ndarray]:
    """Masks, each shape (n,).

    ``empty``: blank or whitespace. ``short``: fewer than ``min_chars`` visible characters, or fewer words than
    ``min_words`` or ``share_of_median`` of the median word count (whichever is larger), so one- and two-word
    messages count. ``long``: over ``long_factor`` x the median length and over ``long_min`` characters.
    ``bad_chars``: U+FFFD replacement characters or control characters. ``mojibake``: UTF-8 read as another
    encoding ("â€™" for "’", "Ã©" for "é"), as detected by ftfy.
    """
    lengths = np.array([len(t) for t in texts])
    words = np.array([word_count(t) for t in texts])
    visible = np.array([len("".join(t.split())) for t in texts])
    empty = visible == 0
    median = float(np.median(lengths[~empty])) if (~empty).any() else 0.0
    word_limit = max(min_words, share_of_median * float(np.median(words[~empty]))) if (~empty).any() else min_words
    short = ~empty & ((visible < min_chars) | (words < word_limit))
    long = lengths > max(long_factor * median, long_min)
    bad = np.array([_has_bad_chars(t) for t in texts], dtype=bool)
    mojibake = np.array([_is_mojibake(t) for t in texts], dtype=bool)
    return {"empty": empty, "short": short, "long": long, "bad_chars": bad, "mojibake": mojibake}


def short_text_limit(texts: list[str], *, min_words: int = 3, share_of_median: float = 0.15) -> float:
    """The word count under which ``text_problems`` calls a text short, for the finding's rule."""
    words = np.array([word_count(t) for t in texts if t.strip()])
    return max(min_words, share_of_median * float(np.median(words))) if len(words) else float(min_words)


UNSPACED_CHARS_PER_WORD = 2  # about a word per two characters in Chinese, Japanese and Thai text


def word_count(text: str) -> int:
    """Words in ``text``: whitespace-separated tokens, and in scripts written without spaces (Chinese, Japanese,
    Thai, ...) one word per UNSPACED_CHARS_PER_WORD characters, so a full Chinese sentence (one "token") is not a
    one-word message."""
    unspaced = len(UNSPACED_RE.findall(text))
    spaced = len(UNSPACED_RE.sub(" ", text).split())
    return spaced + -(-unspaced // UNSPACED_CHARS_PER_WORD)


def _is_mojibake(text: str) -> bool:
    from ftfy import badness

    return bool(text) and badness.is_bad(text)


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
    """Groups of texts in which every pair's estimated Jaccard similarity is at least ``threshold``: LSH banding
    finds the candidate pairs, complete linkage keeps the groups from chaining."""
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
            if len(members) >= 2:
                pairs.update(_similar_pairs(sig, members[:max_bucket], threshold))
    distance = lambda m: 1.0 - (sig[m][:, None, :] == sig[m][None, :, :]).mean(axis=2)  # noqa: E731
    return clique_groups(n, sorted(pairs), distance, 1.0 - threshold)


def text_duplicates(texts: list[str], *, near: float = 0.7, very_near: float = 0.9, min_chars: int = 20) -> dict:
    """Duplicate groups of texts: ``exact`` (the same once case, punctuation and spacing are ignored), ``near``
    (every pair shares about ``near`` or more of its 5-character shingles) and ``very_near`` (``very_near`` or
    more: the same message with a word or two changed). Near groups inside an exact group are left out; texts
    under ``min_chars`` normalised characters share shingles by chance, so only the exact check covers them."""
    keys = [normalise_text(t) for t in texts]
    exact = exact_groups(keys)
    exact_sets = [set(g) for g in exact]
    signatures = minhash_signatures(texts)
    valid = np.array([len(k) >= min_chars for k in keys], dtype=bool)
    outside = lambda groups: [g for g in groups if not any(set(g) <= e for e in exact_sets)]  # noqa: E731
    return {"exact": exact,
            "near": outside(text_near_duplicate_groups(signatures, threshold=near, valid=valid)),
            "very_near": outside(text_near_duplicate_groups(signatures, threshold=very_near, valid=valid))}


def _similar_pairs(sig: np.ndarray, members: list[int], threshold: float):
    block = sig[members]
    sim = (block[:, None, :] == block[None, :, :]).mean(axis=2)
    ii, jj = np.nonzero(np.triu(sim >= threshold, k=1))
    return [(members[i], members[j]) for i, j in zip(ii, jj, strict=True)]


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
    """Up to ``k`` class indices with the lowest F1 among classes that have support, worst first; only classes
    below the best one's F1: when every class scores alike, none is "worst"."""
    f1, support = np.array(report["f1"]), np.array(report["support"])
    ranked = [int(i) for i in np.argsort(f1, kind="stable") if support[i] > 0]
    best = max((f1[i] for i in ranked), default=0.0)
    return [i for i in ranked if f1[i] < best][:k]


def slice_accuracy(correct: np.ndarray, metadata: list[dict], *, max_values: int = 50, min_count: int = 30,
                   alpha: float = 0.05) -> list[dict]:
    """Accuracy per value of every metadata field, worst first, each tested against the rest.

    ``correct``: (n,) booleans (model prediction equals the label); ``metadata``: n dicts. Fields with more
    than ``max_values`` distinct values (ids, free text) are skipped. Each row: field, value, count, accuracy,
    rest_accuracy, ``p`` (one-sided Fisher exact test: is the slice less accurate than the rest?), ``p_adjusted``
    (Holm's correction over every slice tested) and ``weak``: at least ``min_count`` items on each side and
    ``p_adjusted < alpha``. A small slice or one as accurate as the rest is not weak, whatever its gap.
    """
    correct = np.asarray(correct, dtype=bool)
    rows = []
    for field, values in _slices(metadata, max_values).items():
        for value, idx in values.items():
            rows.append(_slice_row(correct, field, value, np.array(idx), min_count))
    _holm(rows, alpha)
    rows.sort(key=lambda r: (r["accuracy"], -r["count"]))
    return rows


def _slices(metadata: list[dict], max_values: int) -> dict[str, dict[str, list[int]]]:
    fields: dict[str, dict[str, list[int]]] = {}
    for i, meta in enumerate(metadata):
        for key, value in (meta or {}).items():
            if not isinstance(value, dict | list) and value is not None:
                fields.setdefault(str(key), {}).setdefault(str(value), []).append(i)
    return {f: v for f, v in fields.items() if 2 <= len(v) <= max_values}


def _slice_row(correct: np.ndarray, field: str, value: str, idx: np.ndarray, min_count: int) -> dict:
    from scipy.stats import fisher_exact

    inside = correct[idx]
    rest = np.delete(correct, idx)
    acc = float(inside.mean())
    rest_acc = float(rest.mean()) if len(rest) else float("nan")
    p = None
    if len(idx) >= min_count and len(rest) >= min_count:
        table = [[int(inside.sum()), int((~inside).sum())], [int(rest.sum()), int((~rest).sum())]]
        p = float(fisher_exact(table, alternative="less").pvalue)
    return {"field": field, "value": value, "count": int(len(idx)), "accuracy": round(acc, 4),
            "rest_accuracy": round(rest_acc, 4), "p": p, "rows": idx.tolist()}


def _holm(rows: list[dict], alpha: float) -> None:
    """Holm-Bonferroni over the rows that were tested: sets ``p_adjusted`` and ``weak`` on every row."""
    tested = sorted((r for r in rows if r["p"] is not None), key=lambda r: r["p"])
    m, running = len(tested), 0.0
    for k, r in enumerate(tested):
        running = max(running, min(1.0, (m - k) * r["p"]))
        r["p_adjusted"] = running
    for r in rows:
        r.setdefault("p_adjusted", None)
        r["weak"] = r["p_adjusted"] is not None and r["p_adjusted"] < alpha
        for key in ("p", "p_adjusted"):
            if r[key] is not None:
                r[key] = float(f"{r[key]:.3g}")


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
