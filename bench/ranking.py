"""Time and memory of ranking a huge project chunk by chunk: ``python -m bench.ranking [--items N]``.

Probabilities (10 classes, float32) are generated one chunk at a time, as a database cursor would stream
them; each chunk is scored with ml.active.score_chunk and merged into the full ranking with
ml.active.top_k_merge, so memory holds the stored scores and indices plus one chunk. Peak RSS growth is
measured from just before the ranking starts.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from ml import active

RESULTS = Path(__file__).resolve().parent / "results" / "ranking.json"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def probability_chunks(n_items: int, chunk_size: int, n_classes: int, *, random_state: int = 0):
    """Yield float32 probability chunks of shape (<= chunk_size, n_classes) covering n_items rows."""
    rng = np.random.default_rng(random_state)
    for start in range(0, n_items, chunk_size):
        logits = rng.standard_normal((min(chunk_size, n_items - start), n_classes), dtype=np.float32)
        logits *= np.float32(3.0)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        yield p


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--strategy", default="margin", choices=active.CHUNK_STRATEGIES)
    parser.add_argument("--no-write", action="store_true", help="print only, keep the results file")
    args = parser.parse_args(argv)
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    chunks = probability_chunks(args.items, args.chunk_size, args.classes)
    order, scores = active.rank_in_chunks(chunks, strategy=args.strategy, k=args.items)
    seconds = time.perf_counter() - t0
    assert len(order) == args.items and np.all(np.diff(scores) <= 0)
    result = {
        "items": args.items,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_rss_mb() - rss_before, 1),
        "chunk_size": args.chunk_size,
        "n_classes": args.classes,
        "strategy": args.strategy,
        "stored_scores_mb": round(args.items * (4 + 8) / 2**20, 1),  # float32 score + int64 index per item
    }
    print(f"ranked {args.items:,} items in chunks of {args.chunk_size:,}: {seconds:.2f} s, "
          f"peak RSS growth {result['peak_rss_mb']} MiB (stored scores + indices {result['stored_scores_mb']} MiB)")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
