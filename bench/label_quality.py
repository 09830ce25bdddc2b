"""Benchmark Quorum's mislabel detection and consensus against cleanlab; writes bench/results/label_quality.json.

Run from the repository root: ``python -m bench.label_quality`` (full, ~10 min on 2 cores) or ``--quick``.

Quorum's detector is the product's search (ml.noise.search_mislabels on the out-of-fold ensemble). Two
references, side by side, per cell:

* (a) ``anchor_f1``: cleanlab ``find_label_issues`` with default arguments on 5-fold out-of-fold
  probabilities of scikit-learn's default ``LogisticRegression`` on standardised features: a fixed anchor that
  does not move when Quorum's model changes;
* (b) ``same_proba_f1``: cleanlab defaults on the very probabilities Quorum's detector uses, so the
  detector's own rule is judged.

Two ceilings (bench.ceiling: the best cut-off on the margin ranking, chosen knowing which labels are wrong):
``same_proba_best_f1`` on Quorum's probabilities bounds every rule over them; ``clean_model_best_f1`` on the same
out-of-fold ensemble trained on the *true* labels bounds what these features and this model family can do at
all (no product sees the true labels). ``summary.ceiling_ratio_*`` divide their means by the anchor's.

``cleanlab_f1`` is kept equal to the anchor for readers of older results.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from threadpoolctl import threadpool_limits

from bench.ceiling import best_cutoff_f1
from ml import consensus as cons
from ml.noise import ensemble_oof_proba, margins, search_mislabels
from ml.training import out_of_fold_proba

DATASETS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}
NOISES = ("symmetric", "asymmetric")
RATES = (0.05, 0.10, 0.20)
ANNOTATOR_ACCURACIES = (0.6, 0.75, 0.9)
RESULTS = Path(__file__).parent / "results" / "label_quality.json"


def inject_noise(y, n_classes: int, kind: str, rate: float, random_state: int) -> np.ndarray:
    """Relabel exactly round(rate * n) random rows: to a uniform other class (symmetric) or k -> k+1 mod n."""
    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(y), int(round(rate * len(y))), replace=False)
    noisy = y.copy()
    shift = rng.integers(1, n_classes, size=len(rows)) if kind == "symmetric" else 1
    noisy[rows] = (y[rows] + shift) % n_classes
    return noisy


def precision_recall_f1(flagged: np.ndarray, wrong: np.ndarray) -> tuple[float, float, float]:
    """Scores of the flagged row set against the rows whose label was corrupted (both boolean (n,))."""
    hits = int((flagged & wrong).sum())
    precision = hits / flagged.sum() if flagged.sum() else 0.0
    recall = hits / wrong.sum() if wrong.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def _mask(rows, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(rows, dtype=int)] = True
    return mask


def anchor_proba(X, y, n_classes: int, seed: int) -> np.ndarray:
    """Reference (a): 5-fold out-of-fold probabilities of default LogisticRegression on standardised X."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression())
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return cross_val_predict(model, X, y, cv=folds, method="predict_proba")


def mislabel_cell(X, y, n_classes, kind, rate, seeds, clean_proba) -> dict:
    """Mean precision/recall/F1 over ``seeds`` for Quorum and both cleanlab references on one cell, and the two
    ceilings; ``clean_proba``: {seed: out-of-fold ensemble probabilities from the true labels}."""
    from cleanlab.filter import find_label_issues as cl_find

    quorum, anchor, same, same_best, clean_best = [], [], [], [], []
    for seed in seeds:
        noisy = inject_noise(y, n_classes, kind, rate, seed)
        wrong = noisy != y
        proba = ensemble_oof_proba(X, noisy, n_classes, random_state=seed)
        issues = search_mislabels(X, noisy, n_classes, proba=proba)
        quorum.append(precision_recall_f1(_mask([i.index for i in issues], len(y)), wrong))
        same.append(precision_recall_f1(np.asarray(cl_find(noisy, proba), dtype=bool), wrong))
        anchor.append(precision_recall_f1(np.asarray(cl_find(noisy, anchor_proba(X, noisy, n_classes, seed)),
                                                     dtype=bool), wrong))
        same_best.append(best_cutoff_f1(margins(proba, noisy), wrong))
        clean_best.append(best_cutoff_f1(margins(clean_proba[seed], noisy), wrong))
    q, a, b = np.mean(quorum, axis=0), np.mean(anchor, axis=0), np.mean(same, axis=0)
    return {"quorum_f1": round(q[2], 4), "cleanlab_f1": round(a[2], 4), "anchor_f1": round(a[2], 4),
            "same_proba_f1": round(b[2], 4), "quorum_precision": round(q[0], 4), "quorum_recall": round(q[1], 4),
            "same_proba_best_f1": round(float(np.mean(same_best)), 4),
            "clean_model_best_f1": round(float(np.mean(clean_best)), 4)}


def run_mislabel(seeds) -> list[dict]:
    rows = []
    for name, load in DATASETS.items():
        X, y = load(return_X_y=True)
        n_classes = len(np.unique(y))
        clean_proba = {seed: ensemble_oof_proba(X, y, n_classes, random_state=seed) for seed in seeds}
        for kind in NOISES:
            for rate in RATES:
                row = {"dataset": name, "noise": kind, "rate": rate}
                row.update(mislabel_cell(X, y, n_classes, kind, rate, seeds, clean_proba))
                rows.append(row)
                print(f"{name:14s} {kind:10s} {rate:4.2f}  quorum F1 {row['quorum_f1']:.3f}  "
                      f"(P {row['quorum_precision']:.3f} R {row['quorum_recall']:.3f})  (a) anchor F1 {row['anchor_f1']:.3f}  "
                      f"(b) same-proba F1 {row['same_proba_f1']:.3f}  ceilings: same proba "
                      f"{row['same_proba_best_f1']:.3f}, clean-label model {row['clean_model_best_f1']:.3f}",
                      flush=True)
    return rows


def simulate_annotators(y, n_classes: int, kind: str, random_state: int = 0) -> np.ndarray:
    """(n_items, 3) annotations: each annotator right with its accuracy, else uniform or k -> k+1 errors."""
    rng = np.random.default_rng(random_state)
    columns = []
    for accuracy in ANNOTATOR_ACCURACIES:
        wrong = rng.random(len(y)) > accuracy
        other = (y + rng.integers(1, n_classes, len(y))) % n_classes if kind == "uniform" else (y + 1) % n_classes
        columns.append(np.where(wrong, other, y))
    return np.column_stack(columns)


def run_consensus(random_state: int = 0) -> dict:
    from cleanlab.multiannotator import get_label_quality_multiannotator

    X, y = load_digits(return_X_y=True)
    n_classes = 10
    out = {}
    for kind in ("uniform", "systematic"):
        annotations = simulate_annotators(y, n_classes, kind, random_state)
        majority = cons.consensus(annotations, n_classes, method="majority").labels
        ds = cons.consensus(annotations, n_classes, method="dawid_skene").labels
        lr_proba = out_of_fold_proba(X, majority, n_classes, random_state=random_state)
        crowdlab = get_label_quality_multiannotator(annotations.astype(float), lr_proba, verbose=False)
        crowdlab = crowdlab["label_quality"]["consensus_label"].to_numpy()
        quorum = cons.model_assisted_consensus(X, annotations, n_classes, random_state=random_state)
        assert quorum.method == cons.DEFAULT_METHOD
        out[kind] = {name: round(float((labels == y).mean()), 4) for name, labels in
                     [("majority", majority), ("dawid_skene", ds), ("crowdlab", crowdlab), ("quorum", quorum.labels)]}
        print(f"consensus {kind:10s} " + "  ".join(f"{k} {v:.3f}" for k, v in out[kind].items()), flush=True)
    return out


def summarise(rows: list[dict]) -> dict:
    q = np.array([r["quorum_f1"] for r in rows])
    a = np.array([r["anchor_f1"] for r in rows])
    b = np.array([r["same_proba_f1"] for r in rows])
    ceiling = {key: round(float(np.mean([r[f"{key}_best_f1"] for r in rows]) / a.mean()), 4)
               for key in ("same_proba", "clean_model")}
    return {"quorum_mean_f1": round(float(q.mean()), 4), "anchor_mean_f1": round(float(a.mean()), 4),
            "same_proba_mean_f1": round(float(b.mean()), 4),
            "ratio_vs_anchor": round(float(q.mean() / a.mean()), 4),
            "ratio_vs_same_probabilities": round(float(q.mean() / b.mean()), 4),
            "cells_won_vs_anchor": int((q > a).sum()),
            "cells_at_least_same_probabilities": int((q >= b).sum()), "cells": len(rows),
            # the best any cut-off reaches, knowing the truth: on Quorum's probabilities, and on a model that
            # learnt from the true labels (bench.ceiling)
            "ceiling_ratio_same_probabilities": ceiling["same_proba"],
            "ceiling_ratio_clean_model": ceiling["clean_model"],
            # kept for readers of older results: the anchor is the "cleanlab" baseline now
            "cleanlab_mean_f1": round(float(a.mean()), 4), "ratio": round(float(q.mean() / a.mean()), 4),
            "cells_won": int((q > a).sum())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one seed instead of five (smoke run)")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    seeds = range(1 if args.quick else args.seeds)
    start = time.time()
    warnings.filterwarnings("ignore", category=UserWarning)
    # One BLAS/OpenMP thread: on a shared 2-core box oversubscription makes LR ~50x slower.
    with threadpool_limits(limits=1):
        rows = run_mislabel(seeds)
        summary = summarise(rows)
        print("mislabel summary: " + ", ".join(f"{k} {v}" for k, v in summary.items()), flush=True)
        consensus_result = run_consensus()
    result = {"mislabel": rows, "consensus": consensus_result,
              "summary": {**summary, "seeds": len(seeds), "seconds": round(time.time() - start, 1)}}
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    return result


if __name__ == "__main__":
    main()
