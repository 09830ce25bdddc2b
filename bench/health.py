"""Data-health benchmark: ``python -m bench.health [--photos N] [--tickets N] [--seeds K] [--hashes N]``.

Per-check precision and recall on generated sets with realistic confounders (ml.synthetic: signal-lamp photos,
a third at night, textured backgrounds, look-alike classes, copies and broken files; support tickets with a
noisier phone slice, and Chinese, Japanese and Thai tickets among them; the demo's digits, light pictures that
keep their blacks, with washed-out copies), the time per 1,000 images, and the throughput figures of the
earlier benchmark (per-image statistics, near-duplicate search over a million perceptual hashes, MinHash +
LSH). Figures go to bench/results/health.json.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from datetime import date
from pathlib import Path

import numpy as np

from ml import health as H
from ml import synthetic as S

RESULTS = Path(__file__).resolve().parent / "results" / "health.json"


class Tally:
    """True and false positives and negatives per check, summed over sets."""

    def __init__(self):
        self.counts: dict[str, list[int]] = {}

    def add(self, check: str, found, truth: set[int]) -> None:
        found = {int(i) for i in found}
        c = self.counts.setdefault(check, [0, 0, 0])
        c[0] += len(found & truth)
        c[1] += len(found - truth)
        c[2] += len(truth - found)

    def table(self) -> dict:
        out = {}
        for check, (tp, fp, fn) in self.counts.items():
            out[check] = {"precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
                          "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn}
        return out


def _groups_rows(groups: list[list[int]]) -> set[int]:
    return {i for g in groups for i in g}


def photo_checks(n: int, seeds: list[int], tally: Tally) -> dict:
    """Run every image check on one photo set per seed; returns timing and the clean items reported as severe."""
    seconds, images, severe_clean, fixed_rule_night = 0.0, 0, 0, 0
    H.image_problems([H.read_image_stats(io.BytesIO(S.photo_set(30, seed=99).content[0]))])  # imports warm
    for seed in seeds:
        data = S.photo_set(n, seed=seed)
        t = time.perf_counter()
        stats = [H.read_image_stats(io.BytesIO(c)) for c in data.content]
        found = H.image_problems(stats, data.metadata)
        seconds += time.perf_counter() - t
        images += len(stats)
        _tally_photos(tally, data, found)
        labels = np.array([S.STATES.index(x) for x in data.labels])
        conflicts = _groups_rows(H.conflicting_groups(found["exact"] + found["near"], labels))
        tally.add("conflicting_duplicates (images)", conflicts, data.truth["conflicting"])
        severe = set(np.flatnonzero(found["unreadable"] | found["black"] | found["white"])) | conflicts
        severe_clean += len(severe & data.clean_rows())
        night = data.slices["night"] & data.clean_rows()
        fixed_rule_night += sum(1 for i in night if stats[i].mean <= 40 and stats[i].p99 <= 80)
    return {"images": images, "seconds_per_1000_images": round(1000 * seconds / images, 2),
            "severe_clean_items": severe_clean, "night_photos_under_old_fixed_rule": fixed_rule_night}


def light_picture_checks(tally: Tally, washed: int = 24) -> dict:
    """The demo's own pictures as a confounder: all 1,797 scikit-learn digits rendered as the demo imports them
    (black ink on white, 128 px), whose thin strokes leave some far brighter than the median with their blacks
    kept, plus ``washed`` washed-out copies (grey levels lifted 70% of the way to white, top burnt out). Every
    digit is a clean picture: any exposure or blur finding on one is a false alarm."""
    from sklearn.datasets import load_digits

    images = load_digits().images
    content = [S.digit_png(img, scale=16) for img in images]
    content += [S.digit_png(images[k], scale=16, wash=0.7) for k in range(washed)]
    stats = [H.read_image_stats(io.BytesIO(c)) for c in content]
    found = H.image_problems(stats)
    n = len(images)
    tally.add("overexposed (light pictures)", np.flatnonzero(found["overexposed"]), set(range(n, n + washed)))
    clean_alarms = {check: int(found[check][:n].sum()) for check in ("underexposed", "overexposed", "blurry")}
    return {"light_pictures": n, "light_picture_false_alarms": clean_alarms}


def _tally_photos(tally: Tally, data, found: dict) -> None:
    t = data.truth
    for check, truth in (("unreadable", t["unreadable"]), ("too_small", t["tiny"]),
                         ("underexposed", t["underexposed"]), ("overexposed", t["overexposed"]),
                         ("blurry", t["blurry"])):
        tally.add(check, np.flatnonzero(found[check]), truth)
    tally.add("blank (black or white)", np.flatnonzero(found["black"] | found["white"]), t["black"] | t["white"])
    tally.add("exact_duplicates (images)", _groups_rows(found["exact"]), t["exact_copy"])
    tally.add("near_duplicates (images)", _groups_rows(found["near"]), t["near_copy"])


def ticket_checks(n: int, seeds: list[int], tally: Tally) -> dict:
    """Run every text check on one ticket set per seed; returns the clean tickets reported as severe."""
    severe_clean, texts, seconds = 0, 0, 0.0
    for seed in seeds:
        data = S.ticket_set(n, seed=seed)
        t = time.perf_counter()
        problems = H.text_problems(data.content)
        dup = H.text_duplicates(data.content)
        seconds += time.perf_counter() - t
        texts += len(data.content)
        tally.add("empty_text", np.flatnonzero(problems["empty"]), data.truth["empty"])
        tally.add("short_text", np.flatnonzero(problems["short"]), data.truth["short"])
        tally.add("bad_characters (mojibake)", np.flatnonzero(problems["mojibake"] | problems["bad_chars"]),
                  data.truth["mojibake"])
        tally.add("exact_duplicates (texts)", _groups_rows(dup["exact"]), data.truth["exact_copy"])
        labels = np.array([S.TICKET_CLASSES.index(x) for x in data.labels])
        conflicts = _groups_rows(H.conflicting_groups(dup["exact"] + dup["very_near"], labels))
        tally.add("conflicting_duplicates (texts)", conflicts, data.truth["conflicting"])
        severe_clean += len(conflicts & data.clean_rows())
    # the same English tickets with a quarter of Chinese, Japanese and Thai ones: full requests, never "short"
    english = [t for t in S.ticket_set(n, seed=0, n_each=0).content if len(t.split()) >= 4]
    foreign = [S.UNSPACED_TICKETS[k % len(S.UNSPACED_TICKETS)] for k in range(len(english) // 3)]
    short = H.text_problems(english + foreign)["short"]
    return {"tickets": texts, "text_checks_ms_per_text": round(1000 * seconds / texts, 3),
            "severe_clean_texts": severe_clean, "unspaced_tickets": len(foreign),
            "unspaced_tickets_called_short": int(short[len(english):].sum())}


def slice_test(n: int, runs: int, tally: Tally) -> dict:
    """The weak-slice test on simulated model outcomes: phone at 0.82 against 0.90 elsewhere (every run has one
    truly weak slice), and the same set with equal accuracy everywhere (no weak slice)."""
    data = S.ticket_set(n, seed=0)
    phone = next(i for i, m in enumerate(data.metadata) if m["channel"] == "phone")
    for run in range(runs):
        for accuracy in ({"phone": 0.82}, {}):
            correct = S.slice_outcomes(data.metadata, field="channel", accuracy=accuracy, default=0.90, seed=run)
            weak = [r for r in H.slice_accuracy(correct, data.metadata) if r["weak"]]
            found = {phone if r["value"] == "phone" else -1 - k for k, r in enumerate(weak)}
            tally.add("weak_slice (0.82 vs 0.90)", found, {phone} if accuracy else set())
    return {"slice_runs": runs, "phone_slice_size": len(data.slices["phone"]), "slice_set_size": len(data.content)}


def throughput(hashes: int, texts: int) -> dict:
    """The earlier figures: stats of a 256 px PNG, near-duplicate groups over random hashes, MinHash + LSH."""
    from PIL import Image

    rng = np.random.default_rng(0)
    pngs = []
    for _ in range(300):
        out = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(out, format="PNG")
        pngs.append(out.getvalue())
    t = time.perf_counter()
    for data in pngs:
        H.read_image_stats(io.BytesIO(data))
    per_image_ms = 1000 * (time.perf_counter() - t) / len(pngs)
    h = rng.integers(0, 2**63, size=hashes, dtype=np.uint64)
    planted = 1000
    h[-planted:] = h[:planted] ^ (np.uint64(1) << rng.integers(0, 64, planted).astype(np.uint64))
    t = time.perf_counter()
    groups = H.near_duplicate_groups(h)
    near_s = time.perf_counter() - t
    words = [f"w{i}" for i in range(2000)]
    body = [" ".join(rng.choice(words, size=25)) for _ in range(texts)]
    t = time.perf_counter()
    H.text_near_duplicate_groups(H.minhash_signatures(body))
    text_ms = 1000 * (time.perf_counter() - t) / texts
    return {"image_stats_ms_per_image_256px": round(per_image_ms, 2), "near_duplicates_seconds": round(near_s, 2),
            "hashes": hashes, "planted_pairs": planted, "groups_found": len(groups),
            "minhash_lsh_ms_per_text": round(text_ms, 3), "texts": texts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=600, help="clean photos per generated set")
    parser.add_argument("--tickets", type=int, default=1500, help="clean tickets per generated set")
    parser.add_argument("--seeds", type=int, default=3, help="generated sets of each kind")
    parser.add_argument("--slice-runs", type=int, default=100)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--texts", type=int, default=10_000)
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    tally = Tally()
    result = {"date": date.today().isoformat()}
    result.update(photo_checks(args.photos, seeds, tally))
    result.update(light_picture_checks(tally))
    result.update(ticket_checks(args.tickets, seeds, tally))
    result.update(slice_test(args.tickets, args.slice_runs, tally))
    result["checks"] = tally.table()
    result["sets"] = (f"{args.seeds} photo sets of {args.photos} clean photos and {args.seeds} ticket sets of "
                      f"{args.tickets} clean tickets (ml.synthetic, seeds {seeds}), plus their planted problems")
    result.update(throughput(args.hashes, args.texts))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
