"""The annotator model: fitted and stored by the worker, refitted after a retrain and every N completions."""
import numpy as np
import pytest
from django.core.cache import cache

from core.models import Item, Job
from labeling.consensus import consensus
from labeling.queue import next_assignment, submit_annotation
from learning import annotators, tasks
from learning.annotators import KEEP_MODELS, MIN_ITEMS_FOR_DAWID_SKENE, count_completion, fit_annotator_model
from learning.job_kinds import RETRAIN
from learning.models import AnnotatorConfusion, AnnotatorModel, ModelVersion, Prediction
from tests.conftest import add_texts
from tests.learning.crowd import add_crowd, truth, wrong

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()  # the refit counts live in the cache, keyed by project id


def _two_good_one_weak(project, people, n=40):
    return add_crowd(project, {people["alice"]: truth, people["bob"]: truth,
                               people["carol"]: lambda i: wrong(i) if i % 2 else truth(i)}, n)


def test_the_fit_task_writes_a_new_model_with_one_confusion_per_annotator(text_project, people):
    _two_good_one_weak(text_project, people)
    tasks.fit_annotators(text_project.pk)
    model = AnnotatorModel.objects.get(project=text_project)
    assert (model.method, model.n_items, model.n_classes) == ("dawid_skene", 40, 3)
    assert model.model_version is None and model.model_confusion is None
    np.testing.assert_allclose(sum(model.priors), 1.0)
    confusions = {c.annotator.username: np.array(c.confusion) for c in model.confusions.select_related("annotator")}
    assert set(confusions) == {"alice", "bob", "carol"}
    assert np.diag(confusions["alice"]).min() > 0.9 and np.diag(confusions["carol"]).mean() < 0.7
    assert np.array(model.default_confusion).shape == (3, 3)
    tasks.fit_annotators(text_project.pk)
    assert AnnotatorModel.objects.filter(project=text_project).count() == 2  # a refit adds a newer model


def test_fitted_with_the_latest_predictions_the_model_is_model_assisted(text_project, people):
    items = _two_good_one_weak(text_project, people)
    version = ModelVersion.objects.create(project=text_project, name="v1")
    Prediction.objects.bulk_create([Prediction(model_version=version, item=item, probabilities=[0.8, 0.1, 0.1])
                                    for item in items])
    model = fit_annotator_model(project=text_project)
    assert model.method == "model_assisted" and model.model_version == version and model.model_weight > 0
    votes = list(items[1].annotations.values_list("label__order", flat=True))
    assert consensus(votes=votes, n_classes=3, item=items[1])[2] == "model_assisted"


def test_too_few_items_store_a_majority_model_and_the_consensus_stays_a_majority_vote(text_project, people):
    items = _two_good_one_weak(text_project, people, n=MIN_ITEMS_FOR_DAWID_SKENE - 1)
    model = fit_annotator_model(project=text_project)
    assert model.method == "majority" and not AnnotatorConfusion.objects.exists()
    votes = list(items[1].annotations.values_list("label__order", flat=True))
    assert consensus(votes=votes, n_classes=3, item=items[1])[2] == "majority"


def test_a_fit_keeps_only_the_latest_models(text_project, people):
    _two_good_one_weak(text_project, people)
    fitted = [fit_annotator_model(project=text_project).pk for _ in range(KEEP_MODELS + 2)]
    assert sorted(AnnotatorModel.objects.values_list("pk", flat=True)) == fitted[-KEEP_MODELS:]
    assert AnnotatorConfusion.objects.count() == 3 * KEEP_MODELS


def test_every_n_completed_multi_annotator_items_a_refit_is_sent_after_commit(
        text_project, people, settings, django_capture_on_commit_callbacks):
    settings.QUORUM_ANNOTATOR_REFIT_EVERY = 3
    text_project.overlap = 2
    text_project.save()
    _two_good_one_weak(text_project, people)
    fit_annotator_model(project=text_project)
    add_texts(text_project, ["n0", "n1", "n2", "n3"])
    for name in ("alice", "alice", "alice", "alice", "bob", "bob", "bob", "bob"):
        with django_capture_on_commit_callbacks(execute=True):
            a = next_assignment(project=text_project, annotator=people[name])
            submit_annotation(project=text_project, annotator=people[name], assignment_id=a.pk,
                              label_id=text_project.labels.get(name="neutral").pk)
        completed = Item.objects.filter(text__startswith="n", annotation_count=2).count()
        fitted = AnnotatorModel.objects.filter(project=text_project).count()
        assert fitted == (1 if completed < 3 else 2), completed  # the third completed item refits
    assert completed == 4
    assert AnnotatorModel.objects.filter(project=text_project).latest("id").n_items == 43


def test_until_there_is_a_usable_model_a_refit_is_due_every_min_items(text_project, settings):
    settings.QUORUM_ANNOTATOR_REFIT_EVERY = 1000
    due = [count_completion(project_id=text_project.pk) for _ in range(2 * MIN_ITEMS_FOR_DAWID_SKENE)]
    assert [n + 1 for n, d in enumerate(due) if d] == [MIN_ITEMS_FOR_DAWID_SKENE, 2 * MIN_ITEMS_FOR_DAWID_SKENE]


def test_one_item_completed_by_a_single_annotator_is_not_counted(text_project, people):
    add_texts(text_project, ["solo"])
    a = next_assignment(project=text_project, annotator=people["alice"])
    submit_annotation(project=text_project, annotator=people["alice"], assignment_id=a.pk,
                      label_id=text_project.labels.first().pk)
    assert Item.objects.get(text="solo").final_label is not None
    assert cache.get(f"quorum:annotator-completions:{text_project.pk}") is None


def test_a_finished_retrain_sends_the_fit_task(text_project, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.jobs, "send_task", lambda name, *, args: sent.append((name, args)) or True)
    version = ModelVersion.objects.create(project=text_project, name="v1", cv_accuracy=0.9)
    job = Job.objects.create(project=text_project, kind=RETRAIN, state=Job.State.RUNNING)
    tasks._finish_ranking(job.pk, version)
    assert ("learning.tasks.fit_annotators", [text_project.pk]) in sent
    assert annotators.refit_every() == 200  # the default without QUORUM_ANNOTATOR_REFIT_EVERY
