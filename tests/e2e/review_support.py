"""Shared pieces of the review browser tests: a digits project with model-disagreement flags, item history."""
import io

import numpy as np
from django.conf import settings

from core.models import Item, LabelEvent
from data.parse import parse_zip
from data.write import import_rows
from learning.models import ModelVersion, Prediction
from review.models import Flag
from tests.conftest import digits_zip

SCREENSHOTS = settings.BASE_DIR / "docs" / "screenshots"


def digits_project_with_flags(project, *, n=40, flags=5, seed=3):
    """Import ``n`` digits (class folders as given labels), add out-of-fold predictions that disagree on the
    first ``flags`` items and open a model-disagreement flag on each. Returns (items, flags)."""
    data, _ = digits_zip(n, seed=seed)
    rows, errors = parse_zip("digits.zip", io.BytesIO(data))
    import_rows(project=project, rows=rows, errors=errors, name="digits.zip")
    items = list(Item.objects.filter(project=project).select_related("final_label").order_by("pk"))
    version = ModelVersion.objects.create(project=project, name="m1", cv_accuracy=0.9, n_train=n)
    rng = np.random.default_rng(seed)
    preds, made = [], []
    for rank, item in enumerate(items):
        given = item.final_label.order
        other = (given + 1 + rank % 8) % 10
        p = rng.dirichlet(np.ones(10) * 0.3) * 0.2
        p[other if rank < flags else given] += 0.8
        p = (p / p.sum()).round(4).tolist()
        preds.append(Prediction(model_version=version, item=item, probabilities=p, out_of_fold=True))
        if rank < flags:
            made.append(Flag.objects.create(
                project=project, item=item, reason=Flag.Reason.MODEL_DISAGREEMENT, score=round(0.9 - rank * 0.1, 2),
                explanation=f"given {item.final_label.name}; model says {other} ({max(p):.2f}, out-of-fold)",
                suggested_label=project.labels.get(order=other), model_version=version))
    Prediction.objects.bulk_create(preds)
    return items, made


def history(item) -> list[tuple]:
    """An item's label history as (from, to, source, actor, cause, undoes?) tuples, oldest first."""
    return [(e.from_label.name if e.from_label else None, e.to_label.name if e.to_label else None, e.source,
             e.actor.username if e.actor else None, e.cause, e.undoes_id is not None)
            for e in LabelEvent.objects.filter(item=item).select_related("from_label", "to_label", "actor")]


def _slow_machine_timeouts():
    from playwright.sync_api import expect

    expect.set_options(timeout=15000)  # a loaded CI box can take seconds per request; never a timed assert


_slow_machine_timeouts()
