"""Retrain a project's model from its final labels, store the version and predictions, and re-rank the queue."""
import hashlib

import numpy as np
from django.conf import settings
from django.db import transaction
from sklearn.metrics import precision_recall_fscore_support

from core.models import Item, LabelSource, Project
from learning import neighbours, ranking, tracking
from learning.annotators import annotation_matrix, multi_annotated_ids
from learning.featurize import project_embedding, project_seed
from learning.models import ModelVersion
from ml.agreement import agreement_report
from ml.health import expected_calibration_error
from ml.noise import wrong_label_estimate
from ml.training import NotEnoughLabels, train_and_predict


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
            job_id: int | None = None, rank: bool = True) -> ModelVersion:
    """Train, store the version with its ranking artifact and neighbour index, and (with ``rank``) rank every
    item in this process.

    Raises NotEnoughLabels if it cannot train. The retrain task passes ``rank=False`` and fans the ranking
    out as chunk tasks (labeling.ranking). With ``job_id``, the write is idempotent: a job run again after
    its worker died (or run twice at once) stores one model version; the later run returns the version the
    first one stored.
    """
    if job_id is not None:
        done = ModelVersion.objects.filter(project=project, params__job=job_id).first()
        if done is not None:
            return done
    labels = list(project.labels.all())
    names = [lab.name for lab in labels]
    features = project_embedding(project, on_progress)
    ids, X = features.ids, features.X
    idx, y = _labeled(project, ids)
    if len(y) == 0:
        raise NotEnoughLabels("no labeled items yet")
    seed = project_seed(project)
    result = train_and_predict(X, y, idx, len(labels), predict_all=False, random_state=seed)
    similar = neighbours.snapshot(project, ids, X, random_state=seed)  # reduced here, outside the lock; pages only read it
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # runs of one project write in turn
        if job_id is not None:
            done = ModelVersion.objects.filter(project=project, params__job=job_id).first()
            if done is not None:
                return done
        count = ModelVersion.objects.filter(project=project).count()
        params = {**result.params, "seed": seed}
        if job_id is not None:
            params["job"] = job_id
        version = ModelVersion.objects.create(
            project=project, name=version_name or f"v{count + 1}", algorithm=result.algorithm, params=params,
            n_train=result.n_train, cv_accuracy=result.cv_accuracy, features=features.info,
            metrics={"per_class": _per_class(y, result.oof_proba, names), "classes": names,
                     "ece": round(expected_calibration_error(result.oof_proba, y), 4),
                     **wrong_label_estimate(y, result.oof_proba),
                     "agreement": _agreement(project, len(labels)),
                     "training_set_hash": _training_set_hash(project)},
        )
        path = ranking.save_artifact(version, model=result.model, seen=result.classes, ids=ids, X=X,
                                     oof_ids=ids[idx], oof_proba=result.oof_proba, labeled_y=y,
                                     strategy=project.query_strategy, n_classes=len(labels), seed=seed)
        version.params = {**version.params, "artifact": str(path.relative_to(settings.MEDIA_ROOT))}
        version.save(update_fields=["params"])
        neighbours.save(version, similar)
        Project.objects.filter(pk=project.pk).update(labels_at_last_retrain=len(y))
    tracking.log_model_version(version)
    if rank:
        ranking.rank_inline(version)
    return version


def _training_set_hash(project: Project) -> str:
    """sha256 over "<item content hash>\t<label>\n" of the training items sorted by content hash.

    The same lines dataset versions hash, so a version frozen from the same labels has the same hash.
    """
    digest = hashlib.sha256()
    rows = (Item.objects.filter(project=project, final_label__isnull=False, excluded=False, ambiguous=False)
            .order_by("content_hash").values_list("content_hash", "final_label__name"))
    for content_hash, label in rows.iterator(chunk_size=5000):
        digest.update(f"{content_hash}\t{label}\n".encode())
    return digest.hexdigest()
