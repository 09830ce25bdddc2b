"""The data-health job end to end (eager Celery): planted defects become findings, pages and actions work."""

import pytest
from django.test import TestCase

from core.models import Item, Job, Project
from core.services import project_create
from health.job_kinds import HEALTH
from health.models import HealthReport
from health.services import boost_class, request_health
from learning.models import ModelVersion, Prediction
from learning.retraining import retrain
from ml import synthetic as S
from tests.conftest import add_members
from tests.health_data import load_set

pytestmark = pytest.mark.django_db


def precision_recall(found: set, truth: set) -> tuple[float, float]:
    tp = len(found & truth)
    return (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0)


def assert_finding(report, check, truth_ids, *, severity=None):
    rows = list(report.findings.filter(check_name=check))
    found = {i for f in rows for i in f.item_ids}
    p, r = precision_recall(found, set(truth_ids))
    assert p >= 0.9 and r >= 0.9, f"{check}: precision {p:.2f} recall {r:.2f}; extra {sorted(found - set(truth_ids))}"
    if severity:
        assert {f.severity for f in rows} == {severity}


def run_health(project, user):
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = request_health(project=project, user=user)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.percent == 100
    return HealthReport.objects.get(pk=job.result["report"])


# ---------------------------------------------------------------- images


@pytest.fixture
def image_health(people):
    """A generated photo set (signal lamps, amber rare, a third at night, planted problems) and 30 new photos."""
    project = project_create(name="Photos", kind=Project.Kind.IMAGE, labels=list(S.STATES),
                             owner=people["manager"], retrain_every=10_000)
    add_members(project, people)
    data = S.photo_set(100, seed=21, n_each=4)
    ids = load_set(project, data, name="photos.zip")
    new = S.photo_set(30, seed=22, n_each=4)
    load_set(project, new, name="new.zip", unlabeled=True, skip=set(range(30, len(new.content))))  # clean ones
    return project, ids, data


def test_image_health_reports_problems_rare_class_model_and_drift_and_nothing_clean_is_severe(image_health, people):
    project, ids, data = image_health
    retrain(project)
    report = run_health(project, people["manager"])
    to_ids = lambda idx: {ids[i] for i in idx}  # noqa: E731
    assert_finding(report, "unreadable", to_ids(data.truth["unreadable"]), severity="severe")
    assert_finding(report, "blank", to_ids(data.truth["black"] | data.truth["white"]), severity="severe")
    assert_finding(report, "underexposed", to_ids(data.truth["underexposed"]), severity="warning")
    severe = {i for f in report.findings.filter(severity="severe") for i in f.item_ids}
    assert not severe & to_ids(data.clean_rows())
    rare = report.findings.get(check_name="class_balance")
    amber = set(Item.objects.filter(project=project, final_label__name="amber").values_list("id", flat=True))
    assert rare.params["label"] == "amber" and set(rare.item_ids) == amber
    results = report.results
    assert results["classes"]["final"][2] == len(amber)
    assert results["performance"]["accuracy"] > 0
    assert len(results["performance"]["confusion"]) == 3
    assert results["drift"]["n_new"] == 30 and results["drift"]["verdict"]
    assert results["label_quality"]["counts"] and sum(results["label_quality"]["counts"]) == results["n_labeled"]


def test_find_more_of_a_class_sets_open_items_priority_to_its_probability(image_health):
    project, ids, data = image_health
    version = retrain(project)
    bird = project.labels.get(name="amber")
    moved = boost_class(project=project, label=bird)
    open_items = Item.objects.filter(project=project, final_label__isnull=True)
    assert moved == open_items.count() == 30
    for item in open_items:
        proba = Prediction.objects.get(model_version=version, item=item).probabilities
        assert item.rank.priority == pytest.approx(proba[bird.order])


def test_retrain_stores_expected_calibration_error(image_health):
    project, *_ = image_health
    version = retrain(project)
    assert 0.0 <= version.metrics["ece"] <= 1.0
    assert set(version.metrics["per_class"]) == set(S.STATES)


# Text checks on a realistic ticket set: tests/health/test_text_health.py.


# ---------------------------------------------------------------- pages


@pytest.fixture
def small_report(text_project, people):
    from tests.conftest import add_texts

    add_texts(text_project, ["good one", "ok", "good one!", "another fine text"], ["positive", "positive", "negative", None])
    return text_project, run_health(text_project, people["manager"])


def test_health_page_shows_findings_to_reviewers_and_404s_outsiders(client, small_report, people):
    project, report = small_report
    client.force_login(people["reviewer"])
    response = client.get(f"/projects/{project.pk}/health/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Duplicates with different labels" in body and "Very short texts" in body and "<svg" in body
    client.force_login(people["outsider"])
    assert client.get(f"/projects/{project.pk}/health/").status_code == 404
    client.force_login(people["alice"])
    assert client.get(f"/projects/{project.pk}/health/").status_code == 403


def test_finding_page_lists_its_items_with_labels(client, small_report, people):
    project, report = small_report
    finding = report.findings.get(check_name="conflicting_duplicates")
    client.force_login(people["reviewer"])
    response = client.get(f"/projects/{project.pk}/health/findings/{finding.pk}/")
    body = response.content.decode()
    assert response.status_code == 200 and "good one!" in body and "negative" in body and "positive" in body
    other = project_create(name="Other", kind="text", labels=["x"], owner=people["outsider"])
    assert client.get(f"/projects/{other.pk}/health/findings/{finding.pk}/").status_code == 404


def test_dismiss_needs_a_reason_and_carries_over_to_the_next_run(client, small_report, people):
    project, report = small_report
    finding = report.findings.get(check_name="short_text")
    client.force_login(people["reviewer"])
    url = f"/projects/{project.pk}/health/findings/{finding.pk}/dismiss/"
    response = client.post(url, {"reason": "  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Say why" in response.content.decode()
    response = client.post(url, {"reason": "placeholders on purpose"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "placeholders on purpose" in response.content.decode()
    finding.refresh_from_db()
    assert finding.dismissed and finding.dismissed_by == people["reviewer"]
    again = run_health(project, people["manager"])
    carried = again.findings.get(check_name="short_text")
    assert carried.dismissed and carried.dismissed_reason == "placeholders on purpose"
    assert not again.findings.get(check_name="conflicting_duplicates").dismissed


def test_run_button_queues_one_job_and_status_refreshes_when_done(client, text_project, people,
                                                                django_capture_on_commit_callbacks):
    client.force_login(people["reviewer"])
    from tests.conftest import add_texts

    add_texts(text_project, ["a text", "b text"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/projects/{text_project.pk}/health/run/")
    assert response.status_code == 302
    assert Job.objects.filter(project=text_project, kind=HEALTH, state="succeeded").count() == 1
    assert HealthReport.objects.filter(project=text_project).count() == 1
    status = client.get(f"/projects/{text_project.pk}/health/status/", HTTP_HX_REQUEST="true")
    assert status.status_code == 204 and status["HX-Refresh"] == "true"


def test_models_page_lists_versions_with_metrics_and_a_learning_curve(client, text_project, people):
    ModelVersion.objects.create(project=text_project, name="v1", algorithm="logistic_regression", params={"C": 5.0, "artifact": "models/project-1/version-1", "job": 7},
                                n_train=40, cv_accuracy=0.71, metrics={"ece": 0.083, "per_class": {
                                    "positive": {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 20}}})
    ModelVersion.objects.create(project=text_project, name="v2", algorithm="logistic_regression", n_train=90,
                                cv_accuracy=0.84, metrics={})
    client.force_login(people["reviewer"])
    body = client.get(f"/projects/{text_project.pk}/models/").content.decode()
    assert "v1" in body and "v2" in body and "0.083" in body and "0.75" in body and "<polyline" in body
    assert "C=5.0" in body and "artifact=" not in body and "job=" not in body  # bookkeeping is not a parameter
    client.force_login(people["outsider"])
    assert client.get(f"/projects/{text_project.pk}/models/").status_code == 404


def test_boost_view_needs_a_manager(client, image_health, people):
    project, *_ = image_health
    retrain(project)
    report = run_health(project, people["manager"])
    finding = report.findings.get(check_name="class_balance")
    client.force_login(people["reviewer"])
    assert client.post(f"/projects/{project.pk}/health/findings/{finding.pk}/boost/").status_code == 403
    client.force_login(people["manager"])
    response = client.post(f"/projects/{project.pk}/health/findings/{finding.pk}/boost/")
    assert response.status_code == 302
    assert Item.objects.filter(project=project, final_label__isnull=True, rank__priority__lt=0.5).exists()
