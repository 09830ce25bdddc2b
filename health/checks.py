"""Data health checks: run the statistics of ml.health over a project's items and describe what they find.

services.py stores the results as a report and holds the actions on findings and the selectors."""
from __future__ import annotations

import math

import numpy as np
from django.db.models import Count

from core.models import Annotation, Label, LabelSource, Project
from health import content
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
                 rule=f"a class with under {balance['threshold']:.1%} of the labeled items (half an even share)",
                 explanation=(f"Only {plural(int(final[c]), 'labeled item')} ({share:.1%}) are {lab.name}, under the "
                              f"{balance['threshold']:.1%} threshold. The model sees too few examples to learn it. "
                              f"'Find more' moves open items the model thinks are {lab.name} to the front of the queue."))
    return {"labels": [lab.name for lab in labels], "given": given.tolist(), "human": human.tolist(),
            "final": final.tolist(), "imbalance_ratio": json_float(balance["imbalance_ratio"]) if balance else None,
            "threshold": balance["threshold"] if balance else None, "rare": balance["rare"] if balance else []}


def _finite(X):
    """Features without NaN or infinity (an embedder can return NaN for an empty text): those become 0."""
    from scipy import sparse

    if sparse.issparse(X):
        if not np.isfinite(X.data).all():
            X = X.copy()
            X.data = np.nan_to_num(X.data, nan=0.0, posinf=0.0, neginf=0.0)
        return X
    X = np.asarray(X)
    return X if np.isfinite(X).all() else np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)


def _outliers(X, skip: np.ndarray, rows: Rows, findings: list) -> int:
    mask = H.outliers(X) & ~skip
    add_finding(findings, check="outliers", severity=Finding.Severity.INFO, title="Outliers in feature space",
             rows=np.flatnonzero(mask), ids=rows.ids,
             rule="isolation-forest score under -0.6 on the item features (about -0.5 is ordinary)",
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
             rule="among the 3 classes with the lowest out-of-fold F1, those under 0.6",
             explanation=f"{text}. The items listed are the ones it mislabels: more or cleaner examples of these "
                         "classes help most.")


def _slice_findings(rows: Rows, pos, correct, findings: list) -> list[dict]:
    """A finding per metadata slice where the model is significantly weaker; returns every slice for the report."""
    slices = H.slice_accuracy(correct, [rows.metadata[r] for r in pos])
    tested = sum(1 for s in slices if s["p"] is not None)
    for s in slices:
        if s["weak"]:
            _slice_finding(rows, pos, correct, s, tested, findings)
    for s in slices:
        del s["rows"]
    return slices


def _slice_finding(rows: Rows, pos, correct, s: dict, tested: int, findings: list) -> None:
    in_slice = np.array(s["rows"])
    wrong = pos[in_slice[~correct[in_slice]]]
    add_finding(findings, check="slice", key=f"slice:{s['field']}={s['value']}", severity=Finding.Severity.WARNING,
                title=f"Weak slice: {s['field']} = {s['value']}", rows=wrong, ids=rows.ids, count=s["count"],
                params={"field": s["field"], "value": s["value"], "p": s["p"], "p_adjusted": s["p_adjusted"]},
                rule=f"one-sided Fisher exact test of the slice against the rest, Holm-corrected over {tested} "
                     "slices, p < 0.05, with at least 30 items on each side",
                explanation=(f"Model accuracy is {s['accuracy']:.2f} on the {s['count']:,} items with "
                             f"{s['field']} = {s['value']}, against {s['rest_accuracy']:.2f} on the others "
                             f"(adjusted p = {s['p_adjusted']:.2g}). Labels may be noisier there, or the items "
                             "harder: the list shows the items it gets wrong."))


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
             rule="population stability index of unlabeled vs labeled items at 0.1 or more (0.25: major)",
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
    results["conflicting_imports"] = content.given_conflicts(project, rows, findings)
    results["skipped_files"] = content.skipped_files(project, findings)
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
        results["content"], (skip, extra) = content.image_checks(rows, findings, progress)
    else:
        results["content"], (skip, extra) = content.text_checks(rows, findings, progress)
    progress(60, "Computing features")
    feature_ids, X = project_features(project)
    if not np.array_equal(feature_ids, rows.ids):  # items added meanwhile: keep the rows we checked
        keep = np.isin(feature_ids, rows.ids)
        X = X[np.flatnonzero(keep)]
    X = _finite(X)
    progress(70, "Looking for outliers")
    results["outliers"] = _outliers(X, skip, rows, findings)
    progress(80, "Measuring the model")
    version = ModelVersion.objects.filter(project=project).first()
    results["performance"] = _performance(project, rows, labels, version, findings)
    results["human"] = _human(project, labels, results["performance"])
    progress(90, "Comparing new items with the labeled set")
    results["drift"] = _drift(project, rows, X, extra, labels, findings)
    return results, version
