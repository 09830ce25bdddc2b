"""What a ranking chunk computes for its items, on any database: the stored probabilities (out-of-fold where
the model trained on the item), the pre-label, its confidence, the label quality; and the JSON text of the
probabilities, which must be json.dumps's."""
import json

import numpy as np
import pytest

from core.models import Item
from learning import ranking
from learning.models import Prediction
from tests.learning.ranked import ranked_version


def test_the_json_of_rounded_probabilities_is_json_dumps_of_them():
    rng = np.random.default_rng(0)
    proba = np.round(rng.dirichlet(np.ones(7) * 0.3, size=2000), ranking.DECIMALS)
    proba[:3] = [[0.0, 1.0, 0, 0, 0, 0, 0], [1e-05, 0.99999, 0, 0, 0, 0, 0], [0.0001, 0.5, 0.1, 0.3999, 0, 0, 0]]
    assert ranking.json_rows(proba) == [json.dumps(row) for row in proba.tolist()]


@pytest.mark.parametrize("values", [[[0.123456, 0.876544]], [[-0.5, 1.5]], [[np.nan, 1.0]], np.zeros((0, 3))])
def test_probabilities_that_are_not_rounded_in_range_are_written_one_by_one(values):
    values = np.asarray(values, dtype=np.float64)
    assert ranking.json_rows(values) == [json.dumps(row) for row in values.tolist()]


@pytest.mark.django_db(transaction=True)
def test_a_chunk_stores_out_of_fold_probabilities_pre_labels_and_label_quality(image_project, settings):
    version = ranked_version(image_project, settings, items=120, wrong=3, unlabeled=50, chunk=35)
    art = ranking.Artifact(ranking.artifact_dir(version))
    oof = dict(zip(art._load("oof_ids").tolist(), np.asarray(art._load("oof_proba")), strict=True))
    label_pks = list(image_project.labels.values_list("pk", flat=True))
    full = ranking.predict_rows(art, 0, len(art.ids))
    stored = dict(Prediction.objects.filter(model_version=version).values_list("item_id", "probabilities"))
    folds = dict(Prediction.objects.filter(model_version=version).values_list("item_id", "out_of_fold"))
    assert len(stored) == 120 and sum(folds.values()) == len(oof) > 0
    for n, item in enumerate(Item.objects.filter(project=image_project).select_related("rank").order_by("pk")):
        assert item.pk == art.ids[n]
        p = oof.get(item.pk, full[n])
        assert stored[item.pk] == np.round(p, 5).tolist() and folds[item.pk] == (item.pk in oof)
        assert (item.rank.predicted_label_id, item.rank.predicted_confidence) == (label_pks[p.argmax()], p.max())
        if item.final_label_id is None:
            assert item.label_quality is None
        else:
            assert item.label_quality == p[label_pks.index(item.final_label_id)]
