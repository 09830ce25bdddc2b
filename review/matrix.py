"""The model's out-of-fold confusion matrix against final labels, and the items behind one cell."""
import numpy as np

from core.models import Item, Project
from learning.models import ModelVersion, Prediction


def _rows(model_version: ModelVersion):
    return (Prediction.objects.filter(model_version=model_version, out_of_fold=True, item__final_label__isnull=False,
                                      item__excluded=False)
            .values_list("item_id", "item__final_label_id", "probabilities").order_by("item_id"))


def confusion(project: Project) -> dict | None:
    """Rows are final labels, columns predicted classes (argmax of the latest model's out-of-fold probabilities).

    Returns None when there is no model yet; cells carry n, the row share and a 0-100 shade for the heat map.
    """
    model = ModelVersion.objects.filter(project=project).first()
    if model is None:
        return None
    labels = list(project.labels.all())
    index = {lab.pk: i for i, lab in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=int)
    for _, final_id, probs in _rows(model).iterator(chunk_size=2000):
        if probs and final_id in index:
            m[index[final_id], int(np.argmax(probs))] += 1
    off_top = max((int(m[i, j]) for i in range(len(labels)) for j in range(len(labels)) if i != j), default=0)
    diag_top = int(m.diagonal().max()) if len(labels) else 0
    rows = []
    for i, lab in enumerate(labels):
        total = int(m[i].sum())
        cells = []
        for j, pred in enumerate(labels):
            n = int(m[i, j])
            top = diag_top if i == j else off_top
            cells.append({"given": lab, "predicted": pred, "n": n, "diag": i == j,
                          "share": n / total if total else 0.0, "shade": int(round(100 * n / top)) if top else 0})
        rows.append({"label": lab, "total": total, "cells": cells})
    n = int(m.sum())
    return {"model": model, "labels": labels, "rows": rows, "n": n,
            "accuracy": float(m.trace() / n) if n else None, "errors": n - int(m.trace())}


def cell_items(project: Project, *, given_id: int, predicted_id: int, limit: int = 200) -> dict:
    """Items with final label ``given_id`` that the latest model predicts as ``predicted_id``, least confident first."""
    model = ModelVersion.objects.filter(project=project).first()
    labels = list(project.labels.all())
    index = {lab.pk: i for i, lab in enumerate(labels)}
    if model is None or given_id not in index or predicted_id not in index:
        return {"model": model, "items": [], "given": None, "predicted": None}
    col = index[predicted_id]
    picked = []
    for item_id, final_id, probs in _rows(model).filter(item__final_label_id=given_id).iterator(chunk_size=2000):
        if probs and int(np.argmax(probs)) == col:
            picked.append((item_id, float(probs[col]), float(probs[index[final_id]])))
    picked.sort(key=lambda r: (-r[1], r[0]))
    picked = picked[:limit]
    items = Item.objects.in_bulk([p[0] for p in picked])
    by_pk = {lab.pk: lab for lab in labels}
    return {"model": model, "given": by_pk[given_id], "predicted": by_pk[predicted_id],
            "items": [{"item": items[pk], "p_predicted": pp, "p_given": pg} for pk, pp, pg in picked]}
