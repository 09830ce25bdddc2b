"""The project's multi-annotator items as a matrix, and the annotator model fitted on them in the worker.

A submit that completes a multi-annotator item must not fit anything: ``fit_annotator_model`` runs in the
worker (after a retrain, and every QUORUM_ANNOTATOR_REFIT_EVERY completed multi-annotator items) and stores
an AnnotatorModel; ``item_posterior`` applies the stored model to one item in a constant number of queries.
"""
import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery

from core import jobs
from core.models import Annotation, Item, Project
from learning.models import AnnotatorConfusion, AnnotatorModel, ModelVersion, Prediction
from ml.consensus import dawid_skene_posterior, fit_dawid_skene

MAX_ITEMS = 20000  # the most recent multi-annotator items used, so the cost stays bounded
MIN_ITEMS_FOR_DAWID_SKENE = 30  # items with 2+ annotators before per-annotator quality can be estimated
REFIT_EVERY = 200  # default of settings.QUORUM_ANNOTATOR_REFIT_EVERY
KEEP_MODELS = 3  # fitted models kept per project; older ones are deleted by the next fit


def multi_annotated_ids(project_id: int) -> list[int]:
    """The most recent items with two or more annotators (at most MAX_ITEMS)."""
    return list(Item.objects.filter(project_id=project_id, annotation_count__gte=2)
                .order_by("-id").values_list("id", flat=True)[:MAX_ITEMS])


def annotation_matrix(item_ids: list[int]) -> np.ndarray:
    """(len(item_ids), n_annotators) label orders of the current annotations, -1 where missing."""
    return annotation_matrix_with_annotators(item_ids)[0]


def annotation_matrix_with_annotators(item_ids: list[int]) -> tuple[np.ndarray, list[int]]:
    """``annotation_matrix`` and the annotator (user) id of each of its columns."""
    rows = list(Annotation.objects.filter(item_id__in=item_ids, superseded_by__isnull=True)
                .values_list("item_id", "annotator_id", "label__order"))
    row_of = {pk: n for n, pk in enumerate(item_ids)}
    annotators = sorted({a for _, a, _ in rows})
    col_of = {a: n for n, a in enumerate(annotators)}
    matrix = np.full((len(item_ids), len(col_of)), -1, dtype=int)
    for item_id, annotator_id, order in rows:
        matrix[row_of[item_id], col_of[annotator_id]] = order
    return matrix, annotators


# ---------------------------------------------------------------- fitting (in the worker)

def fit_annotator_model(*, project: Project) -> AnnotatorModel:
    """Fit Dawid-Skene (model-assisted when a model version has predictions) and store it as the newest model.

    With fewer than MIN_ITEMS_FOR_DAWID_SKENE multi-annotator items it stores a "majority" model, so the
    submit keeps taking a majority vote.
    """
    item_ids = multi_annotated_ids(project.pk)
    n_classes = project.labels.count()
    if len(item_ids) < MIN_ITEMS_FOR_DAWID_SKENE:
        return _store(project, AnnotatorModel(method=AnnotatorModel.Method.MAJORITY, n_items=len(item_ids),
                                              n_classes=n_classes), [])
    matrix, annotators = annotation_matrix_with_annotators(item_ids)
    version, proba = _model_proba(project.pk, item_ids, n_classes)
    fit = fit_dawid_skene(matrix, n_classes, model_proba=proba)
    weights = fit.n_labels / max(fit.n_labels.sum(), 1)
    model = AnnotatorModel(
        method=AnnotatorModel.Method.MODEL_ASSISTED if proba is not None else AnnotatorModel.Method.DAWID_SKENE,
        n_items=len(item_ids), n_classes=n_classes, priors=fit.priors.tolist(),
        default_confusion=np.tensordot(weights, fit.confusions, axes=1).tolist(),
        model_version=version if proba is not None else None,
        model_confusion=None if fit.model_confusion is None else fit.model_confusion.tolist(),
        model_weight=fit.model_weight if proba is not None else 0.0)
    confusions = [AnnotatorConfusion(annotator_id=a, n_labels=int(fit.n_labels[j]), confusion=fit.confusions[j].tolist())
                  for j, a in enumerate(annotators)]
    return _store(project, model, confusions)


def _store(project: Project, model: AnnotatorModel, confusions: list[AnnotatorConfusion]) -> AnnotatorModel:
    with transaction.atomic():
        model.project = project
        model.save()
        for confusion in confusions:
            confusion.annotator_model = model
        AnnotatorConfusion.objects.bulk_create(confusions, batch_size=500)
        keep = AnnotatorModel.objects.filter(project=project).order_by("-id").values("id")[:KEEP_MODELS]
        AnnotatorModel.objects.filter(project=project).exclude(id__in=Subquery(keep)).delete()
    return model


def _model_proba(project_id: int, item_ids: list[int], n_classes: int):
    """(latest model version, its probabilities for these items, uniform where it has none); (None, None)
    without a model."""
    version = ModelVersion.objects.filter(project_id=project_id).first()
    if version is None:
        return None, None
    proba = np.full((len(item_ids), n_classes), 1.0 / n_classes)
    row_of = {pk: n for n, pk in enumerate(item_ids)}
    for item_id, probs in Prediction.objects.filter(model_version=version, item_id__in=item_ids).values_list(
            "item_id", "probabilities").iterator(chunk_size=2000):
        if len(probs) == n_classes:
            proba[row_of[item_id]] = probs
    return version, proba


# ---------------------------------------------------------------- applying (in the submit)

def item_posterior(*, item: Item, n_classes: int) -> tuple[np.ndarray, str] | None:
    """(posterior over the true class, method) of ``item`` under the project's stored annotator model.

    None when there is no usable model (none fitted, a "majority" one, or the labels changed since), or
    the item has no current annotations. Three queries at most: the model, the item's annotations with
    their annotators' confusions, and the item's prediction from the model version the fit used.
    """
    model = AnnotatorModel.objects.filter(project_id=item.project_id).order_by("-id").first()
    if model is None or model.method == AnnotatorModel.Method.MAJORITY or model.n_classes != n_classes:
        return None
    confusion = AnnotatorConfusion.objects.filter(annotator_model=model, annotator_id=OuterRef("annotator_id"))
    votes = list(Annotation.objects.filter(item=item, superseded_by__isnull=True)
                 .annotate(confusion=Subquery(confusion.values("confusion")[:1]))
                 .values_list("label__order", "confusion"))
    if not votes:
        return None
    proba = None
    if model.method == AnnotatorModel.Method.MODEL_ASSISTED and model.model_version_id is not None:
        probs = (Prediction.objects.filter(model_version_id=model.model_version_id, item=item)
                 .values_list("probabilities", flat=True).first())
        proba = probs if probs is not None and len(probs) == n_classes else None
    posterior = dawid_skene_posterior(
        [order for order, _ in votes], [conf if conf is not None else model.default_confusion for _, conf in votes],
        model.priors, model_proba=proba, model_confusion=model.model_confusion, model_weight=model.model_weight)
    return posterior, model.method


# ---------------------------------------------------------------- when to refit

def refit_every() -> int:
    """Completed multi-annotator items between two fits (settings.QUORUM_ANNOTATOR_REFIT_EVERY)."""
    return max(int(getattr(settings, "QUORUM_ANNOTATOR_REFIT_EVERY", REFIT_EVERY)), 1)


def count_completion(*, project_id: int) -> bool:
    """Count one completed multi-annotator item; queue a refit (on commit) when one is due. True if queued.

    The count lives in the shared cache (Redis in production): one atomic increment, no row every submit
    would contend for. A lost count only delays a refit, and every retrain refits anyway. Until the project
    has a usable model, a refit is also due every MIN_ITEMS_FOR_DAWID_SKENE items, so the first one comes
    as soon as there is enough to fit.
    """
    key = f"quorum:annotator-completions:{project_id}"
    try:
        n = cache.incr(key)
    except ValueError:  # no count yet (or it was evicted)
        cache.add(key, 0, timeout=None)
        n = cache.incr(key)
    due = n % refit_every() == 0 or (n % MIN_ITEMS_FOR_DAWID_SKENE == 0 and not _has_usable_model(project_id))
    if due:
        transaction.on_commit(lambda: jobs.send_task("learning.tasks.fit_annotators", args=[project_id]))
    return due


def _has_usable_model(project_id: int) -> bool:
    latest = AnnotatorModel.objects.filter(project_id=project_id).order_by("-id").values_list("method", flat=True)
    return latest.first() not in (None, AnnotatorModel.Method.MAJORITY)


def on_annotations_complete(sender, *, item: Item, votes: list, **kwargs) -> None:
    if len(votes) > 1:
        count_completion(project_id=item.project_id)

