"""The health job on a generated photo set with realistic confounders: each check >= 0.9 precision and recall,
night photos are not under-exposed, look-alikes do not chain, and no clean item is reported as severe."""
import pytest
from django.test import TestCase

from core.models import Job, Project
from core.services import project_create
from health.models import HealthReport
from health.services import request_health
from ml import synthetic as S
from tests.conftest import add_members
from tests.health_data import load_set

pytestmark = pytest.mark.django_db


def run_health(project, user) -> HealthReport:
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = request_health(project=project, user=user)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    return HealthReport.objects.get(pk=job.result["report"])


def found_items(report, check) -> set[int]:
    return {i for f in report.findings.filter(check_name=check) for i in f.item_ids}


def assert_pr(found: set, truth: set, what: str) -> None:
    tp = len(found & truth)
    precision, recall = (tp / len(found) if found else 1.0), (tp / len(truth) if truth else 1.0)
    assert precision >= 0.9 and recall >= 0.9, (
        f"{what}: precision {precision:.2f}, recall {recall:.2f}; extra {sorted(found - truth)}, "
        f"missed {sorted(truth - found)}")


@pytest.fixture(scope="module")
def photos():
    return S.photo_set(200, seed=11)


@pytest.fixture
def photo_report(people, photos):
    project = project_create(name="Signal lamps", kind=Project.Kind.IMAGE, labels=list(S.STATES),
                             owner=people["manager"], retrain_every=10_000)
    add_members(project, people)
    ids = load_set(project, photos, name="lamps.zip")
    return project, ids, run_health(project, people["manager"])


def test_each_image_check_finds_its_planted_problems(photo_report, photos):
    project, ids, report = photo_report
    items = lambda rows: {ids[i] for i in rows}  # noqa: E731
    t = photos.truth
    assert_pr(found_items(report, "unreadable"), items(t["unreadable"]), "unreadable")
    assert_pr(found_items(report, "blank"), items(t["black"] | t["white"]), "blank")
    assert_pr(found_items(report, "too_small"), items(t["tiny"]), "too small")
    assert_pr(found_items(report, "underexposed"), items(t["underexposed"]), "under-exposed")
    assert_pr(found_items(report, "overexposed"), items(t["overexposed"]), "over-exposed")
    assert_pr(found_items(report, "blurry"), items(t["blurry"]), "blurry")
    assert report.results["content"]["slice_field"] == "time_of_day"


def test_copies_are_grouped_in_pairs_and_label_conflicts_are_severe(photo_report, photos):
    project, ids, report = photo_report
    t, g = photos.truth, photos.groups
    near = report.findings.get(check_name="near_duplicates")
    assert sorted(near.params["groups"]) == sorted(sorted(ids[i] for i in grp) for grp in g["near"])
    conflicting_near = {ids[i] for grp in g["near"] for i in grp if set(grp) <= t["conflicting"]}
    assert_pr(found_items(report, "conflicting_duplicates"), conflicting_near, "near copies with other labels")
    # Byte-identical copies are one item with two given labels: "imported twice with different labels".
    conflicting_exact = {ids[grp[0]] for grp in g["exact"] if set(grp) <= t["conflicting"]}
    assert_pr(found_items(report, "conflicting_imports"), conflicting_exact, "exact copies with other labels")
    imports = report.findings.get(check_name="conflicting_imports")
    assert all(len(names) == 2 for names in imports.params["given"].values())


def test_no_clean_item_is_severe_and_night_photos_are_not_under_exposed(photo_report, photos):
    project, ids, report = photo_report
    clean = {ids[i] for i in photos.clean_rows()}
    severe = {i for f in report.findings.filter(severity="severe") for i in f.item_ids}
    assert not severe & clean
    night = {ids[i] for i in photos.slices["night"] & photos.clean_rows()}
    assert not found_items(report, "underexposed") & night and not found_items(report, "blurry") & night
    for finding in report.findings.all():
        assert finding.params.get("rule"), f"{finding.check_name} states no rule"
        assert "\n" not in finding.params["rule"]
