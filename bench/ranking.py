"""Time and memory of ranking a huge project chunk by chunk: ``python -m bench.ranking [--items N]``.

1. Full ranking: probabilities (10 classes, float32) are generated one chunk at a time, as a database
   cursor would stream them; each chunk is scored with ml.active.score_chunk and merged into the full
   ranking with ml.active.top_k_merge, so memory holds the stored scores and indices plus one chunk.
2. Through the chunk tasks' functions (labeling.ranking, what rank_chunk and rank_merge run, less their
   database reads and writes), in QUORUM_RANK_CHUNK-sized chunks:
   - "features": a trained model's artifact with 1,000,000 feature rows memory-mapped from disk; each chunk
     predicts its rows, scores them (margin + rare-class boost) and hands on its 1,000 best candidates; the
     merge picks the diverse head batch of 50 by weighted k-means over the merged candidates.
   - "uploaded": uploaded probabilities, one chunk at a time; margin scores and the chunk's best 50.
   Each is run at two sizes, each in a fresh process, to show that memory does not grow with the item count.
Peak RSS growth is measured from just before each ranking starts.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ml import active

RESULTS = Path(__file__).resolve().parent / "results" / "ranking.json"
ROOT = Path(__file__).resolve().parents[1]


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


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quorum.settings")
    import django

    django.setup()


def build_artifact(path: Path, n_items: int, *, n_features: int = 64, n_classes: int = 10, chunk: int = 100_000):
    """A trained version's artifact: n_items feature rows (float32, 10 Gaussian classes) written to disk
    chunk by chunk, and a model trained on 2,000 of them, as the retrain stores it."""
    from learning import ranking
    from ml.training import make_model

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((n_classes, n_features)).astype(np.float32) * 1.5
    path.mkdir(parents=True, exist_ok=True)
    X = np.lib.format.open_memmap(path / "X_full.npy", mode="w+", dtype=np.float32, shape=(n_items, n_features))
    y_all = np.empty(n_items, dtype=np.int64)
    for start in range(0, n_items, chunk):
        n = min(chunk, n_items - start)
        y = rng.integers(0, n_classes, size=n)
        X[start:start + n] = centres[y] + rng.standard_normal((n, n_features), dtype=np.float32) * 2.0
        y_all[start:start + n] = y
    X.flush()
    labeled = np.arange(2_000)
    model = make_model(np.asarray(X[labeled])).fit(np.asarray(X[labeled]), y_all[labeled])
    ranking.write_artifact(path, model=model, seen=np.arange(n_classes), ids=np.arange(1, n_items + 1),
                           X=np.zeros((0, n_features), dtype=np.float32), oof_ids=labeled + 1,
                           oof_proba=np.full((len(labeled), n_classes), 1 / n_classes), labeled_y=y_all[labeled],
                           strategy="margin_diverse_balanced", n_classes=n_classes)
    del X
    os.replace(path / "X_full.npy", path / "X.npy")  # the rows were written to disk chunk by chunk, not via memory
    return ranking.Artifact(path)


def rank_features(art, chunk_size: int) -> dict:
    """What the chord does for a trained version, without the database: chunks, then the merge."""
    from learning import ranking

    n = len(art.ids)
    results = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        proba = ranking.predict_rows(art, start, stop)
        score = ranking.chunk_scores(art, proba, np.arange(start, stop))
        ranking.priorities(art, score)  # what the chunk writes to ItemRank.priority
        results.append(ranking.candidates(art.ids_between(start, stop), score, art.meta["strategy"],
                                          items=stop - start))
    head_ids, _ = ranking.pick_head(art, results)
    assert len(head_ids) == active.BATCH_AHEAD
    return {"chunks": len(results), "candidates_per_chunk": len(results[0]["ids"])}


def rank_uploaded(n_items: int, chunk_size: int, n_classes: int) -> dict:
    """What the chord does for uploaded probabilities, without the database."""
    from learning import ranking

    results, start = [], 0
    for proba in probability_chunks(n_items, chunk_size, n_classes, random_state=1):
        score = active.queue_scores(proba, ranking.UPLOADED_STRATEGY)
        ids = np.arange(start + 1, start + len(proba) + 1)
        results.append(ranking.candidates(ids, score, ranking.UPLOADED_STRATEGY, items=len(proba)))
        start += len(proba)
    top, _ = active.top_k_merge(((r["scores"], r["ids"]) for r in results), active.BATCH_AHEAD, dtype=np.float64)
    assert len(top) == active.BATCH_AHEAD
    return {"chunks": len(results)}


def measure(kind: str, n_items: int, chunk_size: int, n_classes: int, artifact: str) -> dict:
    """One measurement, in this (fresh) process: seconds and peak RSS growth from just before it starts."""
    from learning import ranking

    art = ranking.Artifact(Path(artifact)) if kind == "features" else None
    if art is not None:
        _ = art.meta, art.model  # loaded once per worker process, as a chunk task does
    before = reset_peak_rss_mb()
    t0 = time.perf_counter()
    info = rank_features(art, chunk_size) if kind == "features" else rank_uploaded(n_items, chunk_size, n_classes)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(current_peak_rss_mb() - before, 1), **info}


def _status_mb(field: str) -> float | None:
    try:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def reset_peak_rss_mb() -> float:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux: /proc/self/clear_refs); return that mark.

    Imports and Django set-up leave a higher peak than the ranking itself needs, which would hide its growth.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmHWM") or 0.0
    except OSError:
        return peak_rss_mb()


def current_peak_rss_mb() -> float:
    return _status_mb("VmHWM") or peak_rss_mb()


def task_benchmarks(items: int, small: int, chunk_size: int, n_classes: int) -> dict:
    """Each measurement runs in its own process, so one's memory does not hide the next one's growth."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="quorum-bench-ranking-") as tmp:
        for n in (small, items):
            path = Path(tmp) / f"artifact-{n}"
            art = build_artifact(path, n, n_classes=n_classes)
            for kind in ("features", "uploaded"):
                cmd = [sys.executable, "-m", "bench.ranking", "--measure", kind, "--items", str(n),
                       "--task-chunk-size", str(chunk_size), "--classes", str(n_classes), "--artifact", str(path)]
                done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
                extra = {"n_features": art.meta["n_features"]} if kind == "features" else {}
                out[f"{kind}_{n}"] = {"items": n, "chunk_size": chunk_size, **extra,
                                      "strategy": art.meta["strategy"] if kind == "features" else "margin",
                                      **json.loads(done.stdout.strip().splitlines()[-1])}
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--strategy", default="margin", choices=active.CHUNK_STRATEGIES)
    parser.add_argument("--task-chunk-size", type=int, default=20_000, help="QUORUM_RANK_CHUNK for part 2")
    parser.add_argument("--small", type=int, default=200_000, help="the smaller size of part 2")
    parser.add_argument("--no-tasks", action="store_true", help="skip part 2 (the chunk tasks' functions)")
    parser.add_argument("--no-write", action="store_true", help="print only, keep the results file")
    parser.add_argument("--measure", choices=("features", "uploaded"), help=argparse.SUPPRESS)
    parser.add_argument("--artifact", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:  # a child process of task_benchmarks
        _setup_django()
        print(json.dumps(measure(args.measure, args.items, args.task_chunk_size, args.classes, args.artifact)))
        return {}
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
    if not args.no_tasks:
        _setup_django()
        tasks = task_benchmarks(args.items, min(args.small, args.items), args.task_chunk_size, args.classes)
        result["tasks"] = tasks
        for name, r in tasks.items():
            print(f"chunk tasks, {name.replace('_', ' at ')} items: {r['seconds']:.2f} s in {r['chunks']} chunks, "
                  f"peak RSS growth {r['peak_rss_mb']} MiB")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
