"""Builders for review tests: labeled items, flags, predictions."""
from django.test import Client

from core.models import Item
from learning.models import ModelVersion, Prediction
from review.models import Flag
from tests.conftest import add_texts


def labeled_items(project, pairs):
    """Import (text, label name) pairs; returns the items in order."""
    add_texts(project, [t for t, _ in pairs], [lab for _, lab in pairs])
    return [Item.objects.get(project=project, text=t) for t, _ in pairs]


def flag(item, *, reason=Flag.Reason.MODEL_DISAGREEMENT, score=0.5, suggested=None):
    label = item.project.labels.get(name=suggested) if suggested else None
    return Flag.objects.create(project=item.project, item=item, reason=reason, score=score,
                               explanation="test flag", suggested_label=label)


def predictions(project, rows, name="m1"):
    """rows: (item, probabilities) pairs, all out-of-fold, in one new model version."""
    version = ModelVersion.objects.create(project=project, name=name)
    Prediction.objects.bulk_create([Prediction(model_version=version, item=i, probabilities=p, out_of_fold=True)
                                    for i, p in rows])
    return version


def client_for(user):
    c = Client()
    c.force_login(user)
    return c
