"""The data-health job end to end (eager Celery): planted defects become findings, pages and actions work."""
import io
import zipfile

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.test import TestCase

from core.models import Item, Job, Project
from core.services import project_create
from data.parse import parse_records, parse_zip
from data.write import import_rows
from health.job_kinds import HEALTH
from health.models import HealthReport
from health.services import boost_class, request_health
from learning.models import ModelVersion, Prediction
from learning.retraining import retrain
from tests.conftest import add_members
from tests.health_data import WORDS, defect_images, defect_texts, encode

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
    project = project_create(name="Photos", kind=Project.Kind.IMAGE, labels=["cat", "dog", "bird"],
                             owner=people["manager"], retrain_every=10_000)
    add_members(project, people)
    images, truth = defect_images(n_clean=80, n_each=5)
    labels = ["cat" if i % 2 == 0 else "dog" for i in range(len(images))]
    for i in (10, 20, 30):  # a rare class: 3 of ~110 labeled items
        labels[i] = "bird"
    for i in truth["conflict"]:  # originals are dog, their copies cat: duplicates with different labels
        labels[i] = "cat" if i in truth["exact"] | truth["near"] else "dog"
    buf = io.BytesIO()
    names = []
    with zipfile.ZipFile(buf, "w") as zf:
        for i, img in enumerate(images):
            fmt, ext = ("BMP", "bmp") if i in truth["exact"] else ("PNG", "png")
            name = f"{labels[i]}/img{i:03d}.{ext}"
            zf.writestr(name, encode(img, fmt))
            names.append(name)
        for k in range(30):  # new, unlabeled items from the same source
            from tests.health_data import scene
            zf.writestr(f"new{k:02d}.png", encode(scene(5000 + k)))
    rows, errors = parse_zip("photos.zip", io.BytesIO(buf.getvalue()))
    import_rows(project=project, rows=rows, errors=errors, name="photos.zip")
    by_name = {it.source_name.split("/", 1)[1]: it.pk for it in Item.objects.filter(project=project)}
    ids = [by_name[n] for n in names]
    corrupt = Item.objects.get(pk=ids[40])
    with default_storage.open(corrupt.image.name, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n-truncated")
    return project, ids, truth, labels


def test_image_health_finds_each_planted_defect_and_nothing_clean_is_severe(image_health, people):
    project, ids, truth, labels = image_health
    retrain(project)
    report = run_health(project, people["manager"])
    to_ids = lambda idx: {ids[i] for i in idx}  # noqa: E731
    assert_finding(report, "underexposed", to_ids(truth["dark"]), severity="warning")
    assert_finding(report, "overexposed", to_ids(truth["bright"]), severity="warning")
    assert_finding(report, "blurry", to_ids(truth["blurry"]))
    assert_finding(report, "too_small", to_ids(truth["tiny"]))
    assert_finding(report, "unreadable", {ids[40]}, severity="severe")
    assert_finding(report, "conflicting_duplicates", to_ids(truth["conflict"]), severity="severe")
    severe = {i for f in report.findings.filter(severity="severe") for i in f.item_ids}
    planted = to_ids(truth["conflict"]) | {ids[40]}
    assert severe <= planted
    rare = report.findings.get(check_name="class_balance")
    assert rare.params["label"] == "bird" and set(rare.item_ids) == {ids[10], ids[20], ids[30]}
    results = report.results
    assert results["classes"]["final"][2] == 3
    assert results["performance"]["accuracy"] > 0
    assert len(results["performance"]["confusion"]) == 3
    assert results["drift"]["n_new"] == 30 and results["drift"]["verdict"]
    assert results["label_quality"]["counts"] and sum(results["label_quality"]["counts"]) == results["n_labeled"]


def test_find_more_of_a_class_sets_open_items_priority_to_its_probability(image_health):
    project, ids, truth, labels = image_health
    version = retrain(project)
    bird = project.labels.get(name="bird")
    moved = boost_class(project=project, label=bird)
    open_items = Item.objects.filter(project=project, final_label__isnull=True)
    assert moved == open_items.count() == 30
    for item in open_items:
        proba = Prediction.objects.get(model_version=version, item=item).probabilities
        assert item.priority == pytest.approx(proba[bird.order])


def test_retrain_stores_expected_calibration_error(image_health):
    project, *_ = image_health
    version = retrain(project)
    assert 0.0 <= version.metrics["ece"] <= 1.0
    assert set(version.metrics["per_class"]) == {"cat", "dog", "bird"}


# ---------------------------------------------------------------- texts


def _sentence(rng, words, n=25):
    return " ".join(rng.choice(words, size=n)).capitalize() + "."


@pytest.fixture
def text_health(people):
    """Two classes with their own vocabularies; labels are 35% wrong for time=night; planted text defects."""
    project = project_create(name="Notes", kind=Project.Kind.TEXT, labels=["spam", "ham", "other"],
                             owner=people["manager"], retrain_every=10_000)
    add_members(project, people)
    rng = np.random.default_rng(0)
    vocab = [WORDS[:50], WORDS[50:100]]
    records = []
    for i in range(300):
        cls = i % 2
        night = i % 5 == 0
        label = 1 - cls if (night and rng.random() < 0.35) else cls
        records.append({"text": _sentence(rng, vocab[cls] + WORDS[100:]), "label": ["spam", "ham"][label],
                        "time": "night" if night else "day", "place": ["north", "south"][i % 2 == 0 and i % 3 == 0]})
    texts, labels, truth = defect_texts(n_clean=0, seed=1)
    kinds = ("empty", "short", "long", "bad_chars")  # the single-text defects; duplicates are planted below
    n_defects = 1 + max(i for k in kinds for i in truth[k])
    truth = {k: truth[k] for k in kinds}
    first = len(records)
    for t, lab in zip(texts[:n_defects], labels[:n_defects], strict=True):
        records.append({"text": t, "label": ["spam", "ham", "other"][lab]})
    for i in range(3):  # duplicates (case and punctuation) of clean records with another label
        copy = {"text": records[i]["text"].upper().replace(".", "!"), "label": "other"}
        records.append(copy)
    rows, errors = parse_records("notes", records)
    import_rows(project=project, rows=rows, errors=errors, name="notes")
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    shifted = {k: {ids[first + i] for i in v} for k, v in truth.items()}
    shifted["conflict"] = {ids[i] for i in range(3)} | {ids[-1], ids[-2], ids[-3]}
    shifted["night"] = {ids[i] for i in range(300) if i % 5 == 0}
    return project, shifted


def test_text_health_finds_text_defects_conflicts_and_the_noisy_slice(text_health, people):
    project, truth = text_health
    retrain(project)
    report = run_health(project, people["manager"])
    assert_finding(report, "empty_text", truth["empty"])
    assert_finding(report, "short_text", truth["short"])
    assert_finding(report, "long_text", truth["long"])
    assert_finding(report, "bad_characters", truth["bad_chars"])
    assert_finding(report, "conflicting_duplicates", truth["conflict"], severity="severe")
    slices = list(report.findings.filter(check_name="slice"))
    assert [f.key for f in slices] == ["slice:time=night"]
    assert set(slices[0].item_ids) <= truth["night"] and slices[0].count == 60
    perf = report.results["performance"]
    assert perf["slices"][0]["field"] == "time" and perf["slices"][0]["value"] == "night"
    severe = {i for f in report.findings.filter(severity="severe") for i in f.item_ids}
    assert severe <= truth["conflict"]


# ---------------------------------------------------------------- pages


@pytest.fixture
def small_report(text_project, people):
    from tests.conftest import add_texts

    add_texts(text_project, ["good one", "", "good one!", "another fine text"], ["positive", "positive", "negative", None])
    return text_project, run_health(text_project, people["manager"])


def test_health_page_shows_findings_to_reviewers_and_404s_outsiders(client, small_report, people):
    project, report = small_report
    client.force_login(people["reviewer"])
    response = client.get(f"/projects/{project.pk}/health/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Duplicates with different labels" in body and "Empty texts" in body and "<svg" in body
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
    finding = report.findings.get(check_name="empty_text")
    client.force_login(people["reviewer"])
    url = f"/projects/{project.pk}/health/findings/{finding.pk}/dismiss/"
    response = client.post(url, {"reason": "  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Say why" in response.content.decode()
    response = client.post(url, {"reason": "placeholders on purpose"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "placeholders on purpose" in response.content.decode()
    finding.refresh_from_db()
    assert finding.dismissed and finding.dismissed_by == people["reviewer"]
    again = run_health(project, people["manager"])
    carried = again.findings.get(check_name="empty_text")
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
    assert Item.objects.filter(project=project, final_label__isnull=True, priority__lt=0.5).exists()
