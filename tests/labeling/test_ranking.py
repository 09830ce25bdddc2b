"""Ranking fans out as chunk tasks (a Celery chord, eager here) and gives the same queue as ranking in one piece."""
import io

import numpy as np
import pytest

from core.models import Item, ItemRank, Job
from data.parse import parse_zip
from data.write import import_rows
from learning import ranking
from learning.featurize import project_features, project_seed
from learning.job_kinds import RANK
from learning.models import ModelVersion, Prediction
from learning.predictions import predictions_upload
from learning.retraining import retrain
from learning.schedule import request_retrain
from ml.active import cold_start, queue_priority
from ml.training import predict_proba_full
from tests.conftest import add_texts, digits_zip

pytestmark = pytest.mark.django_db(transaction=True)


def _load_digits(project, n=200, unlabeled=80):
    data, _ = digits_zip(n, wrong=4)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    for row in rows[:unlabeled]:
        row.label = None
    import_rows(project=project, rows=rows, errors=errors, name="d.zip")


def _priorities(project) -> dict[int, float]:
    return dict(Item.objects.filter(project=project).order_by("id").values_list("id", "rank__priority"))


def _predictions(version) -> dict[int, list]:
    return dict(Prediction.objects.filter(model_version=version).values_list("item_id", "probabilities"))


def test_a_retrain_fanned_out_in_chunks_ranks_exactly_like_one_chunk(image_project, settings):
    _load_digits(image_project)
    settings.QUORUM_RANK_CHUNK = 45  # 200 items: 5 chunk tasks in the chord
    job = request_retrain(project=image_project, user=None)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    version = ModelVersion.objects.get(project=image_project)
    assert len(ranking.plan(version)) == 5
    assert job.total == 5 and job.done == 5 and job.result["model_version"] == version.pk
    chunked, preds = _priorities(image_project), _predictions(version)
    assert len(preds) == 200
    head = [i for i, p in chunked.items() if p >= 1]
    assert len(head) == 50  # the diverse head batch

    settings.QUORUM_RANK_CHUNK = 10_000  # the same version ranked again in a single chunk
    assert len(ranking.plan(version)) == 1
    ranking.rank_inline(version)
    assert _priorities(image_project) == chunked
    assert _predictions(version) == preds


def test_chunked_priorities_equal_queue_priority_over_the_whole_project(image_project, settings):
    _load_digits(image_project)
    settings.QUORUM_RANK_CHUNK = 60
    version = retrain(image_project)
    art = ranking.Artifact(ranking.artifact_dir(version))
    X = art.rows(0, len(art.ids))
    proba = predict_proba_full(art.model, np.asarray(art.meta["seen"]), X, 10)
    ids = np.asarray(art.ids)
    open_ids = set(Item.objects.filter(project=image_project, needed__gt=0).values_list("id", flat=True))
    open_idx = np.array([n for n, i in enumerate(ids.tolist()) if i in open_ids])
    orders = {lab.pk: lab.order for lab in image_project.labels.all()}
    labeled = dict(Item.objects.filter(project=image_project, final_label__isnull=False)
                   .values_list("id", "final_label_id"))
    y = np.array([orders[labeled[i]] for i in sorted(labeled)])
    expected = queue_priority(proba, X, y, open_idx, strategy=image_project.query_strategy,
                              random_state=art.meta["seed"])  # the project's stored seed
    got = _priorities(image_project)
    assert len(open_idx) == 80
    np.testing.assert_allclose([got[int(ids[n])] for n in open_idx], expected, rtol=0, atol=1e-12)


def test_a_chunk_run_again_writes_the_same_values_and_nothing_after_its_job_finished(image_project, settings):
    _load_digits(image_project)
    settings.QUORUM_RANK_CHUNK = 50
    job = request_retrain(project=image_project, user=None)
    version = ModelVersion.objects.get(project=image_project)
    before = _priorities(image_project)
    lo, hi = ranking.plan(version)[1]
    ItemRank.objects.filter(pk__gte=lo, pk__lte=hi, item__needed__gt=0).update(priority=0.0)
    ranking.merge(version, [ranking.rank_chunk(version, a, b) for a, b in ranking.plan(version)])
    assert _priorities(image_project) == before  # every chunk and the merge run again: the same queue
    ItemRank.objects.filter(pk=lo).update(priority=0.123)
    assert ranking.rank_chunk(version, lo, hi, job_id=job.pk)["items"] == 0  # its job is finished: no-op
    assert ItemRank.objects.get(pk=lo).priority == 0.123


def test_an_older_version_never_overwrites_the_ranking_of_a_newer_one(image_project, settings):
    _load_digits(image_project)
    old = retrain(image_project)
    new = retrain(image_project)
    assert not ranking.artifact_dir(old).exists()  # pruned: only the latest version is ranked from
    before = _priorities(image_project)
    ItemRank.objects.filter(project=image_project, item__needed__gt=0).update(priority=0.5)
    assert ranking.rank_chunk(old, 0, 10**9)["items"] == 0
    assert set(_priorities(image_project).values()) >= {0.5}
    ranking.rank_inline(new)
    assert _priorities(image_project) == before


def test_a_text_project_ranks_in_chunks_from_its_sparse_features(text_project, settings):
    texts = [f"great lovely product number {i}" for i in range(20)] + [f"awful broken thing {i}" for i in range(20)]
    texts += [f"maybe fine maybe broken item {i}" for i in range(40)]
    add_texts(text_project, texts, ["positive"] * 20 + ["negative"] * 20 + [None] * 40)
    settings.QUORUM_RANK_CHUNK = 25
    job = request_retrain(project=text_project, user=None)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.total == 4, job.error
    chunked = _priorities(text_project)
    settings.QUORUM_RANK_CHUNK = 1000
    ranking.rank_inline(ModelVersion.objects.get(project=text_project))
    assert _priorities(text_project) == chunked
    assert sum(p >= 1 for p in chunked.values()) == 40  # fewer open items than a head batch: all of them


def test_an_upload_larger_than_a_chunk_ranks_by_margin_in_a_rank_job(text_project, settings):
    add_texts(text_project, [f"text {i}" for i in range(30)])
    ids = list(Item.objects.filter(project=text_project).order_by("id").values_list("id", flat=True))
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=30).round(4)
    proba[:, 2] = 1 - proba[:, 0] - proba[:, 1]
    settings.QUORUM_RANK_CHUNK = 7
    rows = [{"item": i, "probabilities": p.tolist()} for i, p in zip(ids, proba, strict=True)]
    predictions_upload(project=text_project, model_version="ext-1", rows=rows)
    job = Job.objects.get(project=text_project, kind=RANK)
    assert job.state == Job.State.SUCCEEDED and job.total == 5, job.error
    top2 = np.sort(proba, axis=1)[:, -2:]
    expected = 1 - (top2[:, 1] - top2[:, 0])
    got = _priorities(text_project)
    np.testing.assert_allclose([got[i] for i in ids], expected, atol=1e-12)


def test_a_retrain_without_enough_labels_puts_a_representative_batch_first(image_project):
    _load_digits(image_project, n=120, unlabeled=115)  # 5 labels: too few to train
    job = request_retrain(project=image_project, user=None)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and "need at least 10 labels" in job.message
    assert job.result["cold_start"] == 50 and "50 representative items" in job.message
    front = list(Item.objects.filter(project=image_project, needed__gt=0).order_by("-rank__priority")
                 .values_list("source_name", "rank__priority")[:50])
    assert all(p >= 1 for _, p in front)
    assert Item.objects.filter(project=image_project, needed__gt=0, rank__priority__gte=1).count() == 50
    ids, X = project_features(image_project)
    open_ids = set(Item.objects.filter(project=image_project, needed__gt=0).values_list("id", flat=True))
    rows = np.array([n for n, i in enumerate(ids.tolist()) if i in open_ids])
    seed = project_seed(image_project)  # the project's stored seed
    expected = ids[rows[cold_start(X[rows], batch_size=50, random_state=seed)]].tolist()  # the k-means picks, in order
    assert list(Item.objects.filter(project=image_project, needed__gt=0).order_by("-rank__priority")
                .values_list("id", flat=True)[:50]) == expected
    again = request_retrain(project=image_project, user=None)
    again.refresh_from_db()
    assert list(Item.objects.filter(project=image_project, needed__gt=0).order_by("-rank__priority")
                .values_list("source_name", "rank__priority")[:50]) == front


@pytest.mark.postgres
def test_a_chunk_whose_items_were_all_deleted_since_training_writes_nothing(image_project, settings):
    _load_digits(image_project)
    settings.QUORUM_RANK_CHUNK = 50
    request_retrain(project=image_project, user=None)
    version = ModelVersion.objects.get(project=image_project)
    lo, hi = ranking.plan(version)[1]
    Item.objects.filter(project=image_project, pk__gte=lo, pk__lte=hi).delete()
    others = _priorities(image_project)
    result = ranking.rank_chunk(version, lo, hi)
    assert (result["items"], result["ids"]) == (0, [])
    assert _priorities(image_project) == others
