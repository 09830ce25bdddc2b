"""Choose which items to label next: uncertainty, batch diversity, rare-class boost, cold start, chunked ranking."""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin

from ml import uncertainty

# Candidates kept for clustering in the diverse strategies, as a multiple of the batch size: wide enough
# to find B distinct regions, narrow enough that every pick is still among the most uncertain items
# (10 and 20 measured alike on the digits benchmark; 20 reached 95% one batch earlier).
DIVERSITY_POOL_FACTOR = 20
# Exponent on the rarity weight of a predicted class; 0.5 lets a rare class jump ahead without
# swamping the uncertainty ranking completely.
BOOST_POWER = 0.5

STRATEGY_CHOICES = (
    ("margin_diverse_balanced", "Margin + diversity + rare-class boost (recommended)"),
    ("margin_diverse", "Margin + diversity"),
    ("margin_balanced", "Margin + rare-class boost"),
    ("margin", "Margin (closest call between top two labels)"),
    ("entropy", "Entropy"),
    ("least_confidence", "Least confidence"),
    ("random", "Random"),
    ("sequential", "In import order"),
)
STRATEGIES = tuple(name for name, _ in STRATEGY_CHOICES)
# Fewest labels on average over the benchmark's data sets (bench/results/active_learning.json).
DEFAULT_STRATEGY = "margin_diverse_balanced"

CHUNK_STRATEGIES = ("least_confidence", "margin", "entropy")


def _parse_strategy(strategy: str) -> tuple[str, bool, bool]:
    """Split e.g. "margin_diverse_balanced" into ("margin", diverse=True, balanced=True)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    parts = strategy.split("_")
    diverse, balanced = "diverse" in parts, "balanced" in parts
    base = "_".join(p for p in parts if p not in ("diverse", "balanced"))
    return base, diverse, balanced


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def _check_X(X, n_items: int):
    if X is None:
        raise ValueError("X (item features) is required")
    if not sparse.issparse(X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n_items, n_features), got {X.shape}")
    if X.shape[0] != n_items:
        raise ValueError(f"X has {X.shape[0]} rows but proba has {n_items}")
    return X


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest ``scores`` (shape (n,)), best first; ties go to the lower index."""
    scores = np.asarray(scores)
    k = min(int(k), len(scores))
    order = np.lexsort((np.arange(len(scores)), -scores))
    return order[:k]


def class_weights(labeled_y, n_classes: int) -> np.ndarray:
    """Rarity weight per class, shape (n_classes,): larger for a class that is rare among the labels so far.

    ``labeled_y``: (n_labeled,) ints in [0, n_classes). A class with share s of the labels (add-one
    smoothed) gets weight ((1 / n_classes) / s) ** BOOST_POWER, so a class at its fair share gets 1, a
    rare class more than 1 and a dominant class less.
    """
    labeled_y = np.asarray(labeled_y if labeled_y is not None else [], dtype=int).ravel()
    if labeled_y.size and (labeled_y.min() < 0 or labeled_y.max() >= n_classes):
        raise ValueError(f"labeled_y must hold ints in [0, {n_classes}), got {labeled_y.min()}..{labeled_y.max()}")
    counts = np.bincount(labeled_y, minlength=n_classes)
    share = (counts + 1.0) / (counts.sum() + n_classes)
    return ((1.0 / n_classes) / share) ** BOOST_POWER


def class_boost(proba: np.ndarray, labeled_y) -> np.ndarray:
    """Weight per item, shape (n_items,): the class_weights of its predicted class.

    ``proba``: (n_items, n_classes); ``labeled_y``: (n_labeled,) ints in [0, n_classes).
    """
    proba = uncertainty._check(proba)
    return class_weights(labeled_y, proba.shape[1])[proba.argmax(axis=1)]


def _kmeans(X, n_clusters: int, *, n_init: int, random_state: int, sample_weight=None) -> KMeans:
    # Duplicate rows can yield fewer distinct clusters than asked; callers fill the gap, so stay quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
        return km.fit(X, sample_weight=sample_weight)


def standardize(X):
    """Dense X with every column scaled to mean 0 and variance 1 (constant columns left at 0); sparse X as is.

    Distances for diversity and cold start are taken where the model works: make_model standardises dense
    features, so a feature measured in thousands (a tumour's area) must not outweigh one in tenths.
    TF-IDF rows are already on one scale.
    """
    if sparse.issparse(X):
        return X
    X = np.asarray(X, dtype=np.float64)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _diverse_top(scores: np.ndarray, X, batch_size: int, random_state: int) -> np.ndarray:
    """Cluster the most uncertain candidates into ``batch_size`` groups; take the item nearest each centre.

    The k-means is weighted by uncertainty, so centres lean towards the uncertain part of each group;
    distances are taken over the candidates' standardised features.
    """
    n_candidates = min(len(scores), DIVERSITY_POOL_FACTOR * batch_size)
    candidates = top_indices(scores, n_candidates)
    weights = np.maximum(scores[candidates], 1e-9)
    Xc = standardize(X[candidates])
    km = _kmeans(Xc, batch_size, n_init=1, random_state=random_state, sample_weight=weights)
    nearest = candidates[pairwise_distances_argmin(km.cluster_centers_, Xc)]
    picked = list(dict.fromkeys(nearest.tolist()))
    if len(picked) < batch_size:  # identical rows can leave clusters empty: fill by score
        taken = set(picked)
        picked += [i for i in candidates.tolist() if i not in taken][: batch_size - len(picked)]
    picked = np.asarray(picked, dtype=int)
    return picked[top_indices(scores[picked], len(picked))]


def select_batch(proba, X, labeled_y=None, *, batch_size: int, strategy: str, random_state: int = 0) -> np.ndarray:
    """Indices of the unlabeled candidates to label next, shape (min(batch_size, n_items),), best first.

    ``proba``: (n_items, n_classes) model probabilities of the candidates; ``X``: (n_items, n_features)
    their features, dense or sparse (used by the diverse strategies); ``labeled_y``: (n_labeled,) labels
    collected so far (used by the balanced strategies). ``strategy`` is one of STRATEGIES: a base score
    (margin, entropy, least_confidence, random, sequential), optionally "_diverse" (weighted k-means
    over the DIVERSITY_POOL_FACTOR x batch_size most uncertain items, the item nearest each centre) and "_balanced" (class_boost).
    """
    batch_size = _check_batch_size(batch_size)
    proba = uncertainty._check(proba)
    X = _check_X(X, len(proba))
    base, diverse, balanced = _parse_strategy(strategy)
    scores = uncertainty.scores(proba, base, random_state=random_state)
    if balanced:
        scores = scores * class_boost(proba, labeled_y)
    if diverse and batch_size > 1 and len(scores) > batch_size:
        return _diverse_top(scores, X, batch_size, random_state)
    return top_indices(scores, batch_size)


def cold_start(X, *, batch_size: int, random_state: int = 0) -> np.ndarray:
    """A representative first batch before any model exists: the item nearest each k-means centre.

    ``X``: (n_items, n_features) dense (standardised first) or sparse. Returns shape (min(batch_size, n_items),) distinct indices.
    """
    batch_size = _check_batch_size(batch_size)
    if X is None or X.shape[0] == 0:
        raise ValueError("X must hold at least one item")
    n_items = X.shape[0]
    if batch_size >= n_items:
        return np.arange(n_items)
    X = standardize(X)
    km = _kmeans(X, batch_size, n_init=3, random_state=random_state)
    picked = list(dict.fromkeys(pairwise_distances_argmin(km.cluster_centers_, X).tolist()))
    if len(picked) < batch_size:  # two centres nearest the same item: fill at random
        rng = np.random.default_rng(random_state)
        rest = rng.permutation(np.setdiff1d(np.arange(n_items), picked))
        picked += rest[: batch_size - len(picked)].tolist()
    return np.asarray(picked, dtype=int)


def score_chunk(proba_chunk, strategy: str = "margin") -> np.ndarray:
    """Uncertainty scores of one chunk as float32, shape (n_items,), without upcasting the chunk.

    ``proba_chunk``: (n_items, n_classes); ``strategy`` one of CHUNK_STRATEGIES (the model-based scores,
    which depend on each row alone and so can be computed chunk by chunk).
    """
    p = np.asarray(proba_chunk, dtype=np.float32)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba_chunk must have shape (n_items, n_classes>=2), got {p.shape}")
    if strategy == "least_confidence":
        return (1.0 - p.max(axis=1)).astype(np.float32)
    if strategy == "margin":
        top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
        return (1.0 - (top2[:, 1] - top2[:, 0])).astype(np.float32)
    if strategy == "entropy":
        q = np.clip(p, np.float32(1e-12), np.float32(1.0))
        return (-(q * np.log(q)).sum(axis=1) / np.float32(np.log(p.shape[1]))).astype(np.float32)
    raise ValueError(f"unknown chunk strategy {strategy!r}; choose one of {', '.join(CHUNK_STRATEGIES)}")


def top_k_merge(runs: Iterable[tuple[np.ndarray, np.ndarray]], k: int, *,
                dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-chunk (scores, global_indices) pairs into the global top ``k``, best first.

    Each pair holds arrays of equal shape (n_chunk,). Only the running top k is kept between chunks, so
    memory is bounded by k stored scores plus one chunk. Returns (indices (k',), scores (k',)) with
    k' = min(k, total items); ties go to the lower index. Scores are compared as ``dtype`` (float32 halves
    the memory of a full ranking; pass np.float64 to keep float64 scores exact).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    best_s = np.empty(0, dtype=dtype)
    best_i = np.empty(0, dtype=np.int64)
    for chunk_scores, chunk_idx in runs:
        chunk_scores = np.asarray(chunk_scores, dtype=dtype).ravel()
        chunk_idx = np.asarray(chunk_idx, dtype=np.int64).ravel()
        if chunk_scores.shape != chunk_idx.shape:
            raise ValueError(f"scores {chunk_scores.shape} and indices {chunk_idx.shape} differ in shape")
        s = np.concatenate([best_s, chunk_scores])
        i = np.concatenate([best_i, chunk_idx])
        if len(s) > k:  # keep the k best, with ties at the cut broken towards lower index
            keep = np.argpartition(-s, k - 1)[:k]
            cut = s[keep].min()
            above = np.flatnonzero(s > cut)
            at_cut = np.flatnonzero(s == cut)
            at_cut = at_cut[np.argsort(i[at_cut], kind="stable")][: k - len(above)]
            keep = np.concatenate([above, at_cut])
            s, i = s[keep], i[keep]
        best_s, best_i = s, i
    order = np.lexsort((best_i, -best_s))
    return best_i[order], best_s[order]


def rank_in_chunks(proba_chunks: Iterable[np.ndarray], *, strategy: str = "margin", k: int) -> tuple[np.ndarray, np.ndarray]:
    """Global top ``k`` over items streamed as (n_chunk, n_classes) probability chunks, in row order.

    Returns (indices (k',), scores (k',)), best first; indices count rows across all chunks.
    """
    return top_k_merge(_scored_chunks(proba_chunks, strategy), k)


def _scored_chunks(proba_chunks: Iterable[np.ndarray], strategy: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    start = 0
    for chunk in proba_chunks:
        s = score_chunk(chunk, strategy)
        yield s, np.arange(start, start + len(s), dtype=np.int64)
        start += len(s)


# Queue priorities: open items get [0, 1) by their (boosted) uncertainty; the next BATCH_AHEAD items, a
# diverse batch when the strategy asks for one, get [1, 2); escalated items (>= 2) are never re-ranked.
BATCH_AHEAD = 50
PRIORITY_SPAN = 0.999


def queue_scores(proba, strategy: str, *, class_weight=None, positions=None, n_total: int | None = None,
                 random_state: int = 0) -> np.ndarray:
    """Queue score per row of ``proba`` (n_items, n_classes), float64 shape (n_items,), higher first.

    Each row's score depends on that row alone (and its global ``positions``, shape (n_items,), for the
    model-free "random" and "sequential" strategies), so a project can be scored chunk by chunk. With a
    "_balanced" strategy the score is multiplied by ``class_weight`` (n_classes,) of the predicted class.
    """
    proba = uncertainty._check(proba)
    base, _, balanced = _parse_strategy(strategy)
    n = len(proba)
    positions = np.arange(n) if positions is None else np.asarray(positions, dtype=np.int64)
    if base == "random":  # one stream per chunk, seeded by where the chunk starts
        score = np.random.default_rng([random_state, int(positions[0]) if n else 0]).random(n)
    elif base == "sequential":
        score = 1.0 - positions / float(n_total or n or 1)
    else:
        score = uncertainty.scores(proba, base).astype(np.float64)
    if balanced and class_weight is not None:
        score = score * np.asarray(class_weight, dtype=np.float64)[proba.argmax(axis=1)]
    return score


def score_scale(strategy: str, class_weight=None) -> float:
    """The largest score queue_scores can give: dividing by it puts every score in [0, 1] for any chunk."""
    _, _, balanced = _parse_strategy(strategy)
    if balanced and class_weight is not None and len(class_weight):
        return max(1.0, float(np.max(class_weight)))
    return 1.0


def candidate_count(strategy: str, batch_size: int = BATCH_AHEAD) -> int:
    """How many best-scored items each chunk must hand on so the head batch can be chosen from them."""
    _, diverse, _ = _parse_strategy(strategy)
    return DIVERSITY_POOL_FACTOR * batch_size if diverse else batch_size


def head_batch(candidate_scores, candidate_X, *, batch_size: int, strategy: str, random_state: int = 0) -> np.ndarray:
    """Positions in the candidates of the next batch to label, best first.

    ``candidate_scores``: (n_candidates,) the top candidate_count() scores, best first (ties by lower item
    index), as top_k_merge returns them; ``candidate_X``: their features (n_candidates, n_features).
    The same pick as select_batch over every open item: its diverse strategies only look at these.
    """
    batch_size = _check_batch_size(batch_size)
    scores = np.asarray(candidate_scores, dtype=np.float64)
    _, diverse, _ = _parse_strategy(strategy)
    if diverse and batch_size > 1 and len(scores) > batch_size:
        return _diverse_top(scores, candidate_X, batch_size, random_state)
    return top_indices(scores, batch_size)


def queue_priority(proba, X, labeled_y, open_idx, *, strategy: str, batch_ahead: int = BATCH_AHEAD,
                   random_state: int = 0) -> np.ndarray:
    """A total order for a labeling queue: priority in [0, 2) per row of ``open_idx``, higher first.

    The next ``batch_ahead`` items come from head_batch (so the head of the queue is diverse) and sit in
    [1, 2); the rest follow by their (boosted) uncertainty scaled into [0, 1). ``proba``: (n_items,
    n_classes); ``open_idx``: indices of the items still waiting for labels. This is the one-chunk form of
    the chunked ranking (queue_scores per chunk, top_k_merge of candidates, head_batch) and gives the same values.
    """
    open_idx = np.asarray(open_idx, dtype=int)
    if open_idx.size == 0:
        return np.zeros(0)
    proba = uncertainty._check(proba)
    _, _, balanced = _parse_strategy(strategy)
    sub = proba[open_idx]
    weight = class_weights(labeled_y, proba.shape[1]) if balanced else None
    score = queue_scores(sub, strategy, class_weight=weight, positions=open_idx, n_total=len(proba),
                         random_state=random_state)
    priority = PRIORITY_SPAN * score / score_scale(strategy, weight)
    candidates = top_indices(score, candidate_count(strategy, batch_ahead))
    head = candidates[head_batch(score[candidates], X[open_idx[candidates]],
                                 batch_size=min(batch_ahead, len(open_idx)), strategy=strategy,
                                 random_state=random_state)]
    priority[head] = 1.0 + priority[head] / 2
    return priority
