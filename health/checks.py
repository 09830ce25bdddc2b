"""Data health checks: run the statistics of ml.health over a project's items and describe what they find.

services.py stores the results as a report and holds the actions on findings and the selectors."""
from __future__ import annotations

import math

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Count

from core.models import Annotation, Label, LabelSource, Project
from health.models import Finding
from health.rows import CHUNK, Progress, Rows, add_finding, json_float, load_rows, plural
from learning.featurize import project_features
from learning.models import ModelVersion, Prediction
from ml import health as H

SAMPLE = 50_000  # rows per side for drift statistics: PSI on 50k rows is as stable as on a million


# ---------------------------------------------------------------- checks


def _class_balance(project, rows: Rows, labels: list[Label], findings: list) -> dict:
    n = len(labels)
    order = {lab.pk: lab.order for lab in labels}
    final = np.bincount(rows.label[rows.label >= 0], minlength=n)
    given = np.bincount(rows.given[rows.given >= 0], minlength=n)
    human = np.zeros(n, dtype=int)
    for label_id, k in (Annotation.objects.filter(project=project, superseded_by__isnull=True)
                        .values_list("label_id").annotate(k=Count("id")).values_list("label_id", "k")):
        human[order[label_id]] += k
    balance = H.class_balance(final) if final.sum() else None
    for c in (balance["rare"] if balance else []):
        share = balance["shares"][c]
        lab = labels[c]
        add_finding(findings, check="class_balance", key=f"class_balance:{lab.name}", severity=Finding.Severity.WARNING,
                 title=f"Rare class: {lab.name}", rows=np.flatnonzero(rows.label == c), ids=rows.ids,
                 params={"label_id": lab.pk, "label": lab.name},
                 explanation=(f"Only {plural(int(final[c]), 'labeled item')} ({share:.1%}) are {lab.name}, under the "
                              f"{balance['threshold']:.1%} threshold. The model sees too few examples to learn it. "
                              f"'Find more' moves open items the model thinks are {lab.name} to the front of the queue."))
    return {"labels": [lab.name for lab in labels], "given": given.tolist(), "human": human.tolist(),
            "final": final.tolist(), "imbalance_ratio": json_float(balance["imbalance_ratio"]) if balance else None,
            "threshold": balance["threshold"] if balance else None, "rare": balance["rare"] if balance else []}


def _image_checks(rows: Rows, findings: list, progress: Progress) -> tuple[dict, tuple]:
    stats = _image_stats(rows, progress)
    ids = rows.ids
    unreadable = np.array([not s.readable for s in stats], dtype=bool)
    under, over = H.exposure(stats)
    small = H.too_small(stats)
    blur = H.blurry(stats, exclude=under | over)
    _image_findings(ids, findings, unreadable=unreadable, under=under, over=over, blur=blur, small=small)
    flat = np.array([s.readable and (s.p99 - s.p01) < 8 for s in stats], dtype=bool)
    exact = H.exact_groups([s.pixel_hash for s in stats])
    near = H.near_duplicate_groups(np.array([s.phash for s in stats], dtype=np.uint64), valid=~unreadable & ~flat)
    _duplicates(rows, exact, near, findings, what="images",
                exact_how="have identical pixels (the same picture, perhaps saved in another file format)",
                near_how="look the same to a perceptual hash (resized, re-compressed or slightly edited copies)")
    readable = ~unreadable
    summary = {
        "unreadable": int(unreadable.sum()), "underexposed": int(under.sum()), "overexposed": int(over.sum()),
        "blurry": int(blur.sum()), "too_small": int(small.sum()),
        "brightness": H.histogram(np.array([s.mean for s in stats])[readable], bins=16, range_=(0, 256)),
    }
    drift_cols = {"brightness": np.array([s.mean for s in stats]), "sharpness": np.array([s.sharpness for s in stats]),
                  "image size": np.array([float(s.width * s.height) for s in stats])}
    return summary, (unreadable, drift_cols)


def _image_stats(rows: Rows, progress: Progress) -> list[H.ImageStats]:
    """Each image's statistics, in row order; a missing or undecodable file counts as unreadable."""
    stats: list[H.ImageStats] = []
    n = len(rows.ids)
    for i, name in enumerate(rows.content):
        if not name:
            stats.append(H.ImageStats(readable=False))
        else:
            try:
                with default_storage.open(name, "rb") as fh:
                    stats.append(H.read_image_stats(fh))
            except (FileNotFoundError, OSError):
                stats.append(H.ImageStats(readable=False))
        if i % 200 == 0:
            progress(5 + int(50 * i / max(n, 1)), f"Reading images ({i:,}/{n:,})")
    return stats


def _image_findings(ids: np.ndarray, findings: list, *, unreadable, under, over, blur, small) -> None:
    add_finding(findings, check="unreadable", severity=Finding.Severity.SEVERE, title="Unreadable or corrupt files",
             rows=np.flatnonzero(unreadable), ids=ids,
             explanation="These files are missing or cannot be decoded. Training skips them (they become zero "
                         "vectors) and annotators see a broken image. Re-import them or exclude them.")
    add_finding(findings, check="underexposed", severity=Finding.Severity.WARNING, title="Under-exposed (too dark)",
             rows=np.flatnonzero(under), ids=ids,
             explanation="Mostly black: the average grey level is under 40 of 255 and almost nothing is bright. "
                         "Nobody can label what they cannot see.")
    add_finding(findings, check="overexposed", severity=Finding.Severity.WARNING, title="Over-exposed (washed out)",
             rows=np.flatnonzero(over), ids=ids,
             explanation="Mostly white: the average grey level is over 215 of 255 and almost nothing is dark.")
    add_finding(findings, check="blurry", severity=Finding.Severity.WARNING, title="Blurry images",
             rows=np.flatnonzero(blur), ids=ids,
             explanation="The variance of the Laplacian (edge strength) is under 100: few sharp edges, so details "
                         "that decide the label may be lost.")
    add_finding(findings, check="too_small", severity=Finding.Severity.WARNING, title="Images too small",
             rows=np.flatnonzero(small), ids=ids,
             explanation="The shorter side is under 32 pixels: too little detail to label or learn from.")


def _duplicates(rows: Rows, exact: list[list[int]], near: list[list[int]], findings: list, *, what: str,
                exact_how: str, near_how: str) -> None:
    ids = rows.ids
    exact_sets = [frozenset(g) for g in exact]
    near_only = [g for g in near if not any(set(g) <= s for s in exact_sets)]
    conflicts = H.conflicting_groups(exact + near_only, rows.label)
    # Group by group, so the finding's item list shows the copies of one picture or text side by side.
    flat = lambda groups: list(dict.fromkeys(i for g in groups for i in sorted(g)))  # noqa: E731
    add_finding(findings, check="exact_duplicates", severity=Finding.Severity.WARNING, title=f"Exact duplicate {what}",
             rows=flat(exact), ids=ids,
             explanation=f"{plural(len(exact), 'group')} of {what} {exact_how}. Duplicates count twice in training and "
                         "leak between cross-validation folds, which inflates the measured accuracy.")
    add_finding(findings, check="near_duplicates", severity=Finding.Severity.INFO, title=f"Near-duplicate {what}",
             rows=flat(near_only), ids=ids,
             explanation=f"{plural(len(near_only), 'group')} of {what} {near_how}. Check that they are not the same "
                         "example counted several times.")
    add_finding(findings, check="conflicting_duplicates", severity=Finding.Severity.SEVERE,
             title="Duplicates with different labels", rows=flat(conflicts), ids=ids,
             explanation=f"{plural(len(conflicts), 'group')} of duplicate {what} carry different labels. The same "
                         "content cannot be two classes: at least one label in each group is wrong.")


def _text_checks(rows: Rows, findings: list, progress: Progress) -> tuple[dict, tuple]:
    texts = rows.content
    ids = rows.ids
    progress(10, "Checking texts")
    problems = H.text_problems(texts)
    add_finding(findings, check="empty_text", severity=Finding.Severity.WARNING, title="Empty texts",
             rows=np.flatnonzero(problems["empty"]), ids=ids,
             explanation="Blank or whitespace only: there is nothing to label.")
    add_finding(findings, check="short_text", severity=Finding.Severity.INFO, title="Very short texts",
             rows=np.flatnonzero(problems["short"]), ids=ids,
             explanation="Fewer than 3 visible characters: usually too little to decide a label.")
    add_finding(findings, check="long_text", severity=Finding.Severity.INFO, title="Very long texts",
             rows=np.flatnonzero(problems["long"]), ids=ids,
             explanation="Over ten times the median length (and over 2,000 characters): perhaps several records "
                         "merged into one, and slow to read for annotators.")
    add_finding(findings, check="bad_characters", severity=Finding.Severity.WARNING, title="Undecodable characters",
             rows=np.flatnonzero(problems["bad_chars"]), ids=ids,
             explanation="Contains U+FFFD replacement characters or control characters: the file was probably "
                         "decoded with the wrong encoding. Re-export it as UTF-8.")
    progress(25, "Finding duplicate texts")
    keys = [H.normalise_text(t) for t in texts]
    exact = H.exact_groups(keys)
    signatures = H.minhash_signatures(texts)
    # Very short texts share most shingles by chance ("ok" vs "ok!"); the exact check covers them.
    near = H.text_near_duplicate_groups(signatures, valid=np.array([len(k) >= 20 for k in keys], dtype=bool))
    _duplicates(rows, exact, near, findings, what="texts",
                exact_how="are the same once case, punctuation and spacing are ignored",
                near_how="share about 70% or more of their 5-character shingles (MinHash)")
    summary = {k: int(v.sum()) for k, v in problems.items()}
    lengths = np.array([len(t) for t in texts], dtype=float)
    summary["median_length"] = float(np.median(lengths)) if len(lengths) else 0.0
    return summary, (problems["empty"], {"text length": lengths})


def _outliers(X, skip: np.ndarray, rows: Rows, findings: list) -> int:
    mask = H.outliers(X) & ~skip
    add_finding(findings, check="outliers", severity=Finding.Severity.INFO, title="Outliers in feature space",
             rows=np.flatnonzero(mask), ids=rows.ids,
             explanation="An isolation forest finds these far from everything else. They may be from another "
                         "source, a different camera or topic, or simply rare but valid: worth a look.")
    return int(mask.sum())


def _performance(project, rows: Rows, labels: list[Label], version: ModelVersion | None, findings: list) -> dict | None:
    if version is None:
        return None
    n = len(labels)
    pos, proba = [], []
    for item_id, p in (Prediction.objects.filter(model_version=version, out_of_fold=True)
                       .values_list("item_id", "probabilities").iterator(chunk_size=CHUNK)):
        r = rows.position.get(item_id)
        if r is not None and rows.label[r] >= 0 and len(p) == n:
            pos.append(r)
            proba.append(p)
    if not pos:
        return None
    pos = np.array(pos)
    proba = np.array(proba, dtype=np.float64)
    y, pred = rows.label[pos], proba.argmax(axis=1)
    report = H.classification_report(y, pred, n)
    correct = y == pred
    worst = H.worst_classes(report, k=3)
    names = [lab.name for lab in labels]
    weak = [c for c in worst if report["f1"][c] < 0.6]
    if weak:
        _weak_class_finding(rows, pos, y, correct, report, weak, names, findings)
    slices = _slice_findings(rows, pos, correct, findings)
    return {"model_version": version.name, "n": int(len(pos)), "accuracy": report["accuracy"], "labels": names,
            "per_class": [{"label": names[c], "precision": report["precision"][c], "recall": report["recall"][c],
                           "f1": report["f1"][c], "support": report["support"][c]} for c in range(n)],
            "confusion": report["confusion"], "worst": [names[c] for c in worst], "slices": slices[:200]}


def _weak_class_finding(rows: Rows, pos, y, correct, report: dict, weak: list[int], names: list[str],
                        findings: list) -> None:
    wrong = pos[~correct & np.isin(y, weak)]
    text = "; ".join(f"{names[c]}: F1 {report['f1'][c]:.2f} (precision {report['precision'][c]:.2f}, recall "
                     f"{report['recall'][c]:.2f})" for c in weak)
    add_finding(findings, check="weak_classes", severity=Finding.Severity.WARNING, title="Classes the model gets wrong",
             rows=wrong, ids=rows.ids, count=int((~correct & np.isin(y, weak)).sum()),
             explanation=f"{text}. The items listed are the ones it mislabels: more or cleaner examples of these "
                         "classes help most.")


def _slice_findings(rows: Rows, pos, correct, findings: list) -> list[dict]:
    """A finding per metadata slice where the model is weak; returns every slice's accuracy for the report."""
    slices = H.slice_accuracy(correct, [rows.metadata[r] for r in pos])
    for s in slices:
        if not s["weak"]:
            continue
        in_slice = pos[np.array(s["rows"])]
        wrong = in_slice[~correct[np.array(s["rows"])]]
        add_finding(findings, check="slice", key=f"slice:{s['field']}={s['value']}", severity=Finding.Severity.WARNING,
                 title=f"Weak slice: {s['field']} = {s['value']}", rows=wrong, ids=rows.ids, count=s["count"],
                 params={"field": s["field"], "value": s["value"]},
                 explanation=(f"Model accuracy is {s['accuracy']:.2f} on the {s['count']:,} items with "
                              f"{s['field']} = {s['value']}, against {s['rest_accuracy']:.2f} on the others. Labels "
                              "may be noisier there, or the images/texts harder: the list shows the items it gets "
                              "wrong."))
    for s in slices:
        del s["rows"]
    return slices


def _human(project, labels: list[Label], performance: dict | None) -> dict:
    order = {lab.pk: lab.order for lab in labels}
    annotator, label, reference, item = [], [], [], []
    names: dict[int, str] = {}
    qs = (Annotation.objects.filter(project=project, superseded_by__isnull=True)
          .values_list("annotator_id", "annotator__username", "label_id", "item_id", "item__final_label_id",
                       "item__final_source").iterator(chunk_size=CHUNK))
    for who, username, lab, item_id, final, source in qs:
        names[who] = username
        annotator.append(who)
        label.append(order[lab])
        item.append(item_id)
        # One annotator's own label is trivially "right" against itself: such items are no reference.
        reference.append(order[final] if final is not None and source != LabelSource.ANNOTATOR else -1)
    per = H.annotator_accuracy(np.array(annotator), np.array(label), np.array(reference))
    agreement, n_items = H.pairwise_agreement(np.array(item), np.array(label))
    summary = H.human_vs_model(per, performance["accuracy"] if performance else None)
    summary["agreement"] = json_float(agreement)
    summary["agreement_items"] = n_items
    summary["annotators"] = sorted(
        ({"name": names[a], "correct": c, "total": t, "accuracy": round(c / t, 4)} for a, (c, t) in per.items()),
        key=lambda r: r["accuracy"])
    return summary


def _drift(project, rows: Rows, X, extra: dict, labels: list[Label], findings: list) -> dict | None:
    labeled = np.flatnonzero((rows.label >= 0) & ~rows.excluded)
    new = np.flatnonzero((rows.label < 0) & ~rows.excluded)
    if len(labeled) < 20 or len(new) < 20:
        return {"verdict": "not enough data", "n_labeled": int(len(labeled)), "n_new": int(len(new)), "groups": {}}
    rng = np.random.default_rng(0)
    ref = np.sort(rng.choice(labeled, size=min(SAMPLE, len(labeled)), replace=False))
    cur = np.sort(rng.choice(new, size=min(SAMPLE, len(new)), replace=False))
    n = len(labels)
    ref_shares = np.bincount(rows.label[labeled], minlength=n) / len(labeled)
    predicted = rows.predicted[new]
    class_psi = None
    if (predicted >= 0).any():
        new_shares = np.bincount(predicted[predicted >= 0], minlength=n) / (predicted >= 0).sum()
        class_psi = H.psi_from_shares(ref_shares, new_shares)
    else:
        new_shares = None
    Z, groups = _drift_space(X)
    group_psi = H.feature_group_psi(Z[ref], Z[cur], groups)
    for name, values in extra.items():
        group_psi[name] = round(H.psi(values[ref], values[cur]), 4)
    worst = max([v for v in group_psi.values() if not math.isnan(v)] + ([class_psi] if class_psi is not None else []),
                default=float("nan"))
    verdict = H.drift_verdict(worst)
    if not math.isnan(worst) and worst >= H.PSI_MODERATE:
        _drift_finding(rows, new, group_psi, class_psi, worst, verdict, findings)
    return {"verdict": verdict, "worst_psi": json_float(worst), "class_psi": json_float(class_psi),
            "groups": {k: json_float(v) for k, v in group_psi.items()}, "n_labeled": int(len(labeled)),
            "n_new": int(len(new)), "labeled_shares": [round(float(s), 4) for s in ref_shares],
            "new_shares": [round(float(s), 4) for s in new_shares] if new_shares is not None else None}


def _drift_space(X) -> tuple[np.ndarray, dict[str, slice]]:
    """The features to compare, dense, and their named groups of columns: text topics, or image layout and colour."""
    from scipy import sparse
    if sparse.issparse(X):
        from sklearn.decomposition import TruncatedSVD

        k = max(1, min(20, X.shape[1] - 1, X.shape[0] - 1))
        Z = TruncatedSVD(n_components=k, random_state=0).fit_transform(X)
        return Z, {"text topics (SVD)": slice(0, k)}
    Z = np.asarray(X)
    side = min(Z.shape[1], 256)
    groups = {"pixel layout": slice(0, side)}
    if Z.shape[1] > side:
        groups["colour histogram"] = slice(side, Z.shape[1])
    return Z, groups


def _drift_finding(rows: Rows, new, group_psi: dict, class_psi, worst: float, verdict: str, findings: list) -> None:
    top = sorted(((v, k) for k, v in group_psi.items() if not math.isnan(v)), reverse=True)[:2]
    parts = [f"{k} (PSI {v:.2f})" for v, k in top]
    if class_psi is not None:
        parts.insert(0, f"predicted classes (PSI {class_psi:.2f})")
    add_finding(findings, check="drift", severity=Finding.Severity.WARNING if worst >= H.PSI_MAJOR else Finding.Severity.INFO,
             title=f"New items differ from the labeled set: {verdict}", rows=new, ids=rows.ids,
             explanation=("The unlabeled items are not distributed like the labeled ones: " + ", ".join(parts) +
                          ". A model trained on the labeled set may do worse on them; label a sample of the new "
                          "items. PSI under 0.1 is no meaningful shift, over 0.25 a major one."))


# ---------------------------------------------------------------- all checks


def run_checks(project: Project, progress: Progress) -> tuple[dict, list[dict], ModelVersion | None]:
    """Every check over ``project``: the report's results, its findings, and the model version measured."""
    labels = list(project.labels.all())
    progress(2, "Loading items")
    rows = load_rows(project, {lab.pk: lab.order for lab in labels})
    findings: list[dict] = []
    results: dict = {"kind": project.kind, "n_items": int(len(rows.ids)), "n_labeled": int((rows.label >= 0).sum())}
    results["classes"] = _class_balance(project, rows, labels, findings)
    version = None
    if len(rows.ids):
        item_results, version = _item_checks(project, rows, labels, findings, progress)
        results.update(item_results)
    results["label_quality"] = H.histogram(np.array(rows.quality), bins=10) if rows.quality else None
    return results, findings, version


def _item_checks(project, rows: Rows, labels: list[Label], findings: list,
                 progress: Progress) -> tuple[dict, ModelVersion | None]:
    """The checks that need items: content, outliers, the latest model's and the annotators' accuracy, drift."""
    results: dict = {}
    if project.is_image:
        results["content"], (skip, extra) = _image_checks(rows, findings, progress)
    else:
        results["content"], (skip, extra) = _text_checks(rows, findings, progress)
    progress(60, "Computing features")
    feature_ids, X = project_features(project)
    if not np.array_equal(feature_ids, rows.ids):  # items added meanwhile: keep the rows we checked
        keep = np.isin(feature_ids, rows.ids)
        X = X[np.flatnonzero(keep)]
    progress(70, "Looking for outliers")
    results["outliers"] = _outliers(X, skip, rows, findings)
    progress(80, "Measuring the model")
    version = ModelVersion.objects.filter(project=project).first()
    results["performance"] = _performance(project, rows, labels, version, findings)
    results["human"] = _human(project, labels, results["performance"])
    progress(90, "Comparing new items with the labeled set")
    results["drift"] = _drift(project, rows, X, extra, labels, findings)
    return results, version
