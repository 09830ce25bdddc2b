"""Retrain a project's model from its final labels, store the version and predictions, and re-rank the queue."""
import numpy as np
from django.db import transaction
from django.db.models import F
from sklearn.metrics import precision_recall_fscore_support

from ml.active import queue_priority
from ml.agreement import agreement_report
from ml.health import expected_calibration_error
from ml.noise import estimate_noise_rate
from ml.training import NotEnoughLabels, train_and_predict

from .consensus import annotation_matrix, multi_annotated_ids
from .featurize import project_features
from .models import Item, LabelSource, ModelVersion, Prediction, Project

BATCH = 2000


def _labeled(project: Project, ids: np.ndarray):
    """Rows of ``ids`` that have a final label usable for training, and their label orders."""
    orders = {lab.pk: lab.order for lab in project.labels.all()}
    # Auto-accepted labels are the model's own guesses: training on them would only confirm its mistakes.
    labeled = dict(Item.objects.filter(project=project, final_label__isnull=False, excluded=False, ambiguous=False)
                   .exclude(final_source=LabelSource.MODEL).values_list("id", "final_label_id"))
    position = {int(i): n for n, i in enumerate(ids)}
    idx = np.array([position[i] for i in sorted(labeled)], dtype=int)
    y = np.array([orders[labeled[i]] for i in sorted(labeled)], dtype=int)
    return idx, y


def _open_rows(project: Project, ids: np.ndarray) -> np.ndarray:
    """Rows of ``ids`` still waiting for annotators (escalated items, priority >= 2, keep their place)."""
    waiting = set(Item.objects.filter(project=project, annotation_count__lt=F("needed"), excluded=False,
                                      priority__lt=2.0).values_list("id", flat=True))
    return np.array([n for n, i in enumerate(ids.tolist()) if i in waiting], dtype=int)


def _agreement(project: Project, n_classes: int) -> dict | None:
    """Inter-annotator agreement over the project's multi-annotator items, None when there are none."""
    matrix = annotation_matrix(multi_annotated_ids(project.pk))
    if matrix.shape[0] == 0 or matrix.shape[1] < 2:
        return None
    report = agreement_report(matrix, n_classes)
    keep = ("n_items", "n_annotators", "percent_agreement", "fleiss_kappa", "krippendorff_alpha")
    return {k: (None if isinstance(report[k], float) and np.isnan(report[k]) else report[k]) for k in keep}


def _per_class(y, oof, names) -> dict:
    p, r, f, s = precision_recall_fscore_support(y, oof.argmax(axis=1), labels=range(len(names)), zero_division=0)
    return {n: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4),
                "support": int(s[i])} for i, n in enumerate(names)}


def retrain(project: Project, on_progress=None, *, version_name: str | None = None,
            job_id: int | None = None) -> ModelVersion:
    """Train, predict every item, rank open items by uncertainty. Raises NotEnoughLabels if it cannot train.

    With ``job_id``, the write is idempotent: a job run again after its worker died (or run twice at once)
    stores one model version; the later run returns the version the first one stored.
    """
    if job_id is not None:
        done = ModelVersion.objects.filter(project=project, params__job=job_id).first()
        if done is not None:
            return done
    labels = list(project.labels.all())
    names = [lab.name for lab in labels]
    ids, X = project_features(project, on_progress)
    idx, y = _labeled(project, ids)
    if len(y) == 0:
        raise NotEnoughLabels("no labeled items yet")
    result = train_and_predict(X, y, idx, len(labels))
    oof_by_item = {int(ids[row]): result.oof_proba[n] for n, row in enumerate(idx)}
    open_idx = _open_rows(project, ids)
    priority = queue_priority(result.proba, X, y, open_idx, strategy=project.query_strategy)
    scores = dict(zip(ids[open_idx].tolist(), priority.tolist(), strict=True))
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # runs of one project write in turn
        if job_id is not None:
            done = ModelVersion.objects.filter(project=project, params__job=job_id).first()
            if done is not None:
                return done
        count = ModelVersion.objects.filter(project=project).count()
        params = {**result.params, "job": job_id} if job_id is not None else result.params
        version = ModelVersion.objects.create(
            project=project, name=version_name or f"v{count + 1}", algorithm=result.algorithm, params=params,
            n_train=result.n_train, cv_accuracy=result.cv_accuracy,
            metrics={"per_class": _per_class(y, result.oof_proba, names), "classes": names,
                     "ece": round(expected_calibration_error(result.oof_proba, y), 4),
                     "estimated_noise_rate": round(estimate_noise_rate(y, result.oof_proba), 4),
                     "agreement": _agreement(project, len(labels))},
        )
        _store(project, version, ids, result.proba, oof_by_item, scores, labels)
        Project.objects.filter(pk=project.pk).update(labels_at_last_retrain=len(y))
    return version


def _store(project, version, ids, proba, oof_by_item, scores, labels) -> None:
    """Predictions (out-of-fold for labeled items), and the queue order and pre-label for every item."""
    items = Item.objects.filter(project=project).in_bulk(ids.tolist())
    preds, updates = [], []
    for n, item_id in enumerate(ids.tolist()):
        item = items[item_id]
        oof = oof_by_item.get(item_id)
        row = oof if oof is not None else proba[n]
        preds.append(Prediction(model_version=version, item_id=item_id, probabilities=np.round(row, 5).tolist(),
                                out_of_fold=oof is not None))
        top = int(row.argmax())
        item.predicted_label = labels[top]
        item.predicted_confidence = float(row[top])
        if item.final_label_id is not None:
            item.label_quality = float(row[[lab.pk for lab in labels].index(item.final_label_id)])
        if item_id in scores:
            item.priority = scores[item_id]
        updates.append(item)
    Prediction.objects.bulk_create(preds, batch_size=BATCH)
    Item.objects.bulk_update(updates, ["predicted_label", "predicted_confidence", "label_quality", "priority"],
                             batch_size=BATCH)
