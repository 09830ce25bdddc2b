"""Throughput of the data-health science: ``python -m bench.health [--hashes N] [--images N] [--texts N]``.

Measures per-image stats (decode, histogram, Laplacian, pixel hash, perceptual hash) on 256x256 PNGs, the
near-duplicate search over N random 64-bit perceptual hashes with planted near copies, and MinHash + LSH
over short texts. Figures go to bench/results/health.json.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np

from ml import health as H

RESULTS = Path(__file__).resolve().parent / "results" / "health.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--texts", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    from PIL import Image

    pngs = []
    for _ in range(args.images):
        out = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(out, format="PNG")
        pngs.append(out.getvalue())
    t = time.perf_counter()
    for data in pngs:
        H.read_image_stats(io.BytesIO(data))
    per_image_ms = 1000 * (time.perf_counter() - t) / args.images

    hashes = rng.integers(0, 2**63, size=args.hashes, dtype=np.uint64)
    planted = 1000
    hashes[-planted:] = hashes[:planted] ^ (np.uint64(1) << rng.integers(0, 64, planted).astype(np.uint64))
    t = time.perf_counter()
    groups = H.near_duplicate_groups(hashes)
    near_s = time.perf_counter() - t
    found = sum(1 for g in groups if len(g) >= 2)

    words = [f"w{i}" for i in range(2000)]
    texts = [" ".join(rng.choice(words, size=25)) for _ in range(args.texts)]
    t = time.perf_counter()
    sig = H.minhash_signatures(texts)
    H.text_near_duplicate_groups(sig)
    text_ms = 1000 * (time.perf_counter() - t) / args.texts

    result = {"image_stats_ms_per_image_256px": round(per_image_ms, 2),
              "near_duplicates_seconds": round(near_s, 2), "hashes": args.hashes,
              "planted_pairs": planted, "groups_found": found,
              "minhash_lsh_ms_per_text": round(text_ms, 3), "texts": args.texts}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
