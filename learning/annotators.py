"""The project's multi-annotator items as a matrix: what the annotator model and the agreement report read."""
import numpy as np

from core.models import Annotation, Item

MAX_ITEMS = 20000  # the most recent multi-annotator items used, so the cost stays bounded


def multi_annotated_ids(project_id: int) -> list[int]:
    """The most recent items with two or more annotators (at most MAX_ITEMS)."""
    return list(Item.objects.filter(project_id=project_id, annotation_count__gte=2)
                .order_by("-id").values_list("id", flat=True)[:MAX_ITEMS])


def annotation_matrix(item_ids: list[int]) -> np.ndarray:
    """(len(item_ids), n_annotators) label orders of the current annotations, -1 where missing."""
    rows = list(Annotation.objects.filter(item_id__in=item_ids, superseded_by__isnull=True)
                .values_list("item_id", "annotator_id", "label__order"))
    row_of = {pk: n for n, pk in enumerate(item_ids)}
    col_of = {a: n for n, a in enumerate(sorted({a for _, a, _ in rows}))}
    matrix = np.full((len(item_ids), len(col_of)), -1, dtype=int)
    for item_id, annotator_id, order in rows:
        matrix[row_of[item_id], col_of[annotator_id]] = order
    return matrix
