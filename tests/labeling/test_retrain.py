"""The retrain task really trains, predicts, ranks the queue and raises mislabel flags."""
import io

import pytest

from core.models import Item, Job
from data.parse import parse_zip
from data.write import import_rows
from learning.job_kinds import RETRAIN
from learning.models import ModelVersion, Prediction
from learning.schedule import maybe_retrain, request_retrain
from review.models import Flag
from tests.conftest import digits_zip

pytestmark = pytest.mark.django_db(transaction=True)


def _load(project, n=200, wrong=8, unlabeled=60):
    data, wrong_idx = digits_zip(n, wrong=wrong)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    for row in rows[:unlabeled]:  # leave some items without a given label: the queue
        row.label = None
    import_rows(project=project, rows=rows, errors=errors, name="d.zip")
    return wrong_idx


def test_retrain_trains_ranks_open_items_and_flags_planted_mislabels(image_project, people):
    _load(image_project)
    before = dict(Item.objects.filter(needed__gt=0).values_list("id", "rank__priority"))
    job = request_retrain(project=image_project, user=people["manager"])
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    version = ModelVersion.objects.get(project=image_project)
    assert version.n_train == 140 and version.cv_accuracy > 0.7
    assert set(version.metrics["per_class"]) == {str(d) for d in range(10)}
    assert Prediction.objects.filter(model_version=version).count() == 200
    assert Prediction.objects.filter(model_version=version, out_of_fold=True).count() == 140
    after = dict(Item.objects.filter(needed__gt=0).values_list("id", "rank__priority"))
    assert after != before  # the queue was re-ranked by the model
    assert all(0 <= p < 2 for p in after.values())
    assert Item.objects.filter(needed__gt=0, rank__predicted_label__isnull=True).count() == 0
    flags = Flag.objects.filter(reason=Flag.Reason.MODEL_DISAGREEMENT)
    assert flags.exists()
    assert all("model says" in f.explanation and "given" in f.explanation for f in flags)


def test_flagged_items_include_most_planted_errors(image_project):
    _load(image_project, n=300, wrong=15, unlabeled=0)
    request_retrain(project=image_project, user=None)
    flagged = set(Flag.objects.values_list("item_id", flat=True))
    # The first 15 entries of the zip carry a wrong class folder (label + 3).
    from sklearn.datasets import load_digits

    target = load_digits().target
    wrong = {i.pk for i in Item.objects.all()
             if int(i.source_name.split("/")[1]) != target[int(i.source_name.split("/d")[1].split(".")[0])]}
    assert len(wrong) == 15
    assert len(wrong & flagged) >= 10
    assert len(flagged - wrong) <= 15


def test_retrain_is_debounced_every_n_labels(image_project):
    _load(image_project, n=60, wrong=0, unlabeled=60)
    image_project.retrain_every = 1000
    assert maybe_retrain(project=image_project) is None
    assert not Job.objects.filter(kind=RETRAIN).exists()


def test_a_retrain_requested_during_a_running_one_runs_once_after_it(image_project):
    running = Job.objects.create(project=image_project, kind=RETRAIN, state=Job.State.RUNNING)
    again = request_retrain(project=image_project, user=None)
    third = request_retrain(project=image_project, user=None)
    assert again.pk == third.pk == running.pk
    running.refresh_from_db()
    assert running.params["rerun"] is True
    assert Job.objects.filter(kind=RETRAIN).count() == 1


def test_too_few_labels_finishes_with_a_clear_message(image_project):
    _load(image_project, n=20, wrong=0, unlabeled=15)
    job = request_retrain(project=image_project, user=None)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and "need at least 10 labels" in job.message
    assert not ModelVersion.objects.exists()


def test_retrain_records_estimated_noise_and_the_project_page_shows_it(image_project, people, client):
    _load(image_project, n=200, wrong=20, unlabeled=0)
    request_retrain(project=image_project, user=None)
    version = ModelVersion.objects.get()
    m = version.metrics
    assert 0.02 < m["estimated_noise_rate"] < 0.3  # 20 of 200 planted
    assert m["n_labels"] == 200 and m["estimated_wrong_labels"] == round(m["estimated_noise_rate"] * 200)
    assert m["model_disagreements"] == round((1 - version.cv_accuracy) * 200)
    assert m["agreement"] is None  # nobody has labeled an item twice yet
    client.force_login(people["manager"])
    body = client.get(f"/projects/{image_project.pk}/").content.decode()
    assert "Estimated wrong labels" in body and "of 200 labels" in body
    assert f"{m['estimated_wrong_labels']} the model confidently contradicts" in body
    assert f"{m['model_disagreements']} it disagrees with" in body


def test_the_model_card_never_rounds_a_small_share_of_wrong_labels_to_zero(image_project, people, client):
    ModelVersion.objects.create(project=image_project, name="v1", n_train=1500, cv_accuracy=0.966, metrics={
        "estimated_noise_rate": 0.002, "estimated_wrong_labels": 3, "model_disagreements": 51, "n_labels": 1500})
    client.force_login(people["manager"])
    body = client.get(f"/projects/{image_project.pk}/").content.decode()
    assert "<strong>0.2%</strong> to <strong>3.4%</strong> of 1500 labels" in body
    # a version stored before the counts were recorded shows its rate alone
    ModelVersion.objects.create(project=image_project, name="v2", metrics={"estimated_noise_rate": 0.0013})
    body = client.get(f"/projects/{image_project.pk}/").content.decode()
    assert "<strong>0.13%</strong> of the labeled items" in body and "it disagrees with" not in body
    # a model wrong more often than right: its disagreements are its own mistakes, not a share of wrong labels
    ModelVersion.objects.create(project=image_project, name="v3", n_train=1500, cv_accuracy=0.2, metrics={
        "estimated_noise_rate": 0.79, "estimated_wrong_labels": 1190, "model_disagreements": 1190, "n_labels": 1500})
    body = client.get(f"/projects/{image_project.pk}/").content.decode()
    assert "<strong>not estimated</strong>" in body and "right on only 20% of held-out labels" in body
    assert "79%" not in body
    # a model that disagrees with no label found none; it did not measure 0% wrong
    ModelVersion.objects.create(project=image_project, name="v4", n_train=45, cv_accuracy=1.0, metrics={
        "estimated_noise_rate": 0.0, "estimated_wrong_labels": 0, "model_disagreements": 0, "n_labels": 45})
    body = client.get(f"/projects/{image_project.pk}/").content.decode()
    assert "<strong>none found</strong>" in body and "agrees with all 45 labels" in body
    assert "<strong>0%</strong>" not in body
