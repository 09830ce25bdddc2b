"""The health job on a generated support-ticket set: empty, short, mojibake, copies with other labels, the noisy
phone slice found by a statistical test, and files skipped by an import as a finding."""
import pytest

from core.models import Job, Project
from core.services import project_create
from learning.retraining import retrain
from ml import synthetic as S
from tests.conftest import add_members
from tests.health.test_image_health import assert_pr, found_items, run_health
from tests.health_data import load_set

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tickets():
    return S.ticket_set(900, seed=4, phone_share=0.3, mislabel=0.03, phone_mislabel=0.25)


@pytest.fixture
def ticket_report(people, tickets):
    project = project_create(name="Support", kind=Project.Kind.TEXT, labels=list(S.TICKET_CLASSES),
                             owner=people["manager"], retrain_every=10_000)
    add_members(project, people)
    ids = load_set(project, tickets, name="tickets.csv")
    return project, ids, run_health(project, people["manager"])


@pytest.fixture
def slice_report(people, tickets):
    """The same tickets without the empty rows (the text embedder cannot featurize those), with a model."""
    project = project_create(name="Support", kind=Project.Kind.TEXT, labels=list(S.TICKET_CLASSES),
                             owner=people["manager"], retrain_every=10_000)
    ids = load_set(project, tickets, name="tickets.csv", skip=tickets.truth["empty"])
    retrain(project)
    return project, ids, run_health(project, people["manager"])


def test_text_checks_find_empty_short_mojibake_and_conflicting_copies(ticket_report, tickets):
    project, ids, report = ticket_report
    t = tickets.truth
    items = lambda rows: {ids[i] for i in rows}  # noqa: E731
    assert_pr(found_items(report, "empty_text"), items(t["empty"]), "empty")
    assert_pr(found_items(report, "short_text"), items(t["short"]), "one- and two-word messages")
    assert_pr(found_items(report, "bad_characters"), items(t["mojibake"]), "mojibake")
    conflicting = {ids[g[0]] for g in tickets.groups["exact"] if set(g) <= t["conflicting"]}
    assert_pr(found_items(report, "conflicting_imports"), conflicting, "exact copies with another label")
    clean = items(tickets.clean_rows())
    assert not {i for f in report.findings.filter(severity="severe") for i in f.item_ids} & clean


def test_the_noisier_phone_slice_is_a_finding_from_the_test_and_no_other_slice_is(slice_report):
    project, ids, report = slice_report
    slices = list(report.findings.filter(check_name="slice"))
    assert [f.key for f in slices] == ["slice:channel=phone"]
    assert slices[0].params["p_adjusted"] < 0.05 and "Fisher" in slices[0].params["rule"]
    rows = {(s["field"], s["value"]): s for s in report.results["performance"]["slices"]}
    assert not rows[("channel", "email")]["weak"] and not rows[("channel", "chat")]["weak"]


def test_files_skipped_by_an_import_are_a_finding_with_file_and_reason(text_project, people):
    from tests.conftest import add_texts

    add_texts(text_project, ["a fine review of the product", "another fine review here"])
    skipped = [{"file": "photos/red/img_3.jpg", "reason": "cannot identify image file"},
               {"file": "photos/red/img_9.jpg", "reason": "truncated file"}]
    Job.objects.create(project=text_project, kind="import", state=Job.State.SUCCEEDED,
                       result={"created": 2, "skipped": skipped, "skipped_count": 1502})
    report = run_health(text_project, people["manager"])
    finding = report.findings.get(check_name="skipped_files")
    assert finding.count == 1502 and finding.item_ids == []
    assert [f["file"] for f in finding.params["files"]] == ["photos/red/img_3.jpg", "photos/red/img_9.jpg"]
    assert finding.params["files"][1]["reason"] == "truncated file"
