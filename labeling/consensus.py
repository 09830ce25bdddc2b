"""The one place where Quorum chooses how several annotators' votes become a consensus label.

With enough multi-annotator items in a project, the default is ml.consensus's model-assisted Dawid-Skene
(each annotator weighted by their estimated confusion matrix, the latest model's probabilities as one more
voice: 0.994 / 1.000 accuracy in bench/label_quality.py against 0.896 / 0.862 for majority vote). With too
few items to estimate annotators, it is a plain majority vote.
"""
import numpy as np

from core.models import Item
from learning.annotators import annotation_matrix, multi_annotated_ids
from learning.models import ModelVersion, Prediction
from ml.consensus import DEFAULT_METHOD as ML_DEFAULT_METHOD
from ml.consensus import consensus as ml_consensus
from ml.consensus import majority_vote

MIN_ITEMS_FOR_DAWID_SKENE = 30  # items with 2+ annotators before per-annotator quality can be estimated


def consensus(*, votes: list[int], n_classes: int, item: Item | None = None) -> tuple[int, float, str]:
    """Return (class index, confidence in [0, 1], method name) for one item's votes (class indices).

    ``item`` lets the project's other multi-annotator items inform the annotators' reliability.
    """
    if item is not None:
        result = _project_consensus(item, n_classes)
        if result is not None:
            return result
    label, confidence = majority_vote(votes, n_classes)
    return int(label), float(confidence), "majority"


def _project_consensus(item: Item, n_classes: int) -> tuple[int, float, str] | None:
    item_ids = multi_annotated_ids(item.project_id)
    if item.pk not in item_ids:
        item_ids.append(item.pk)
    if len(item_ids) < MIN_ITEMS_FOR_DAWID_SKENE:
        return None
    matrix = annotation_matrix(item_ids)
    row_of = {pk: n for n, pk in enumerate(item_ids)}
    result = ml_consensus(matrix, n_classes, method=ML_DEFAULT_METHOD,
                          model_proba=_model_proba(item.project_id, item_ids, n_classes))
    row = row_of[item.pk]
    return int(result.labels[row]), float(result.confidence[row]), result.method


def _model_proba(project_id: int, item_ids: list[int], n_classes: int) -> np.ndarray | None:
    """Latest model's probabilities for these items (uniform where it has none); None without a model."""
    version = ModelVersion.objects.filter(project_id=project_id).first()
    if version is None:
        return None
    proba = np.full((len(item_ids), n_classes), 1.0 / n_classes)
    row_of = {pk: n for n, pk in enumerate(item_ids)}
    for item_id, probs in Prediction.objects.filter(model_version=version, item_id__in=item_ids).values_list(
            "item_id", "probabilities"):
        if len(probs) == n_classes:
            proba[row_of[item_id]] = probs
    return proba
