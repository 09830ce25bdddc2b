"""Audit sampling: stratified draw, blind review, per-class and per-source accuracy with Wilson intervals."""
import pytest

from core.models import Item
from review.audits import draw_audit
from review.models import Audit, AuditItem
from tests.review.helpers import client_for, labeled_items

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def labeled(text_project):
    pairs = [(f"p{i}", "positive") for i in range(8)] + [(f"n{i}", "negative") for i in range(4)]
    items = labeled_items(text_project, pairs)
    Item.objects.filter(text__in=["p0", "p1"]).update(final_source="consensus")
    return items


def test_draw_is_stratified_by_class_and_source_and_reproducible(text_project, people, labeled):
    audit = draw_audit(project=text_project, reviewer=people["reviewer"], size=6, seed=7)
    strata = sorted((r.label_at_draw.name, r.source_at_draw) for r in audit.items.all())
    assert strata.count(("positive", "consensus")) == 1  # every stratum is represented
    assert sum(1 for s in strata if s[0] == "negative") == 2  # proportional: 4/12 of 6
    again = draw_audit(project=text_project, reviewer=people["reviewer"], size=6, seed=7)
    assert [r.item_id for r in again.items.all()] == [r.item_id for r in audit.items.all()]


def test_blind_review_hides_the_label_and_reports_accuracy_with_intervals(text_project, people, labeled):
    c = client_for(people["reviewer"])
    r = c.post(f"/projects/{text_project.pk}/review/audits/new/", {"size": 4})
    audit = Audit.objects.get()
    assert r.status_code == 302 and r.url == f"/projects/{text_project.pk}/review/audits/{audit.pk}/"
    page = c.get(r.url).content.decode()
    assert "current label is hidden" in page and "current label <strong>" not in page
    negative = text_project.labels.get(name="negative")
    for row in audit.items.all():  # the auditor says "negative" to everything
        c.post(f"/projects/{text_project.pk}/review/audits/{audit.pk}/verdict/", {"row": row.pk, "label": negative.pk})
    audit.refresh_from_db()
    assert audit.finished_at is not None
    n_neg = audit.items.filter(label_at_draw=negative).count()
    overall = audit.summary["overall"]
    assert (overall["n"], overall["correct"]) == (4, n_neg)
    assert overall["low"] <= overall["accuracy"] <= overall["high"]
    assert audit.summary["per_class"]["negative"]["accuracy"] == 1.0
    assert set(audit.summary["per_source"]) <= {"given", "consensus"}
    listing = c.get(f"/projects/{text_project.pk}/review/audits/").content.decode()
    assert "95% CI" in listing and f"Audit {audit.pk}" in listing


def test_a_verdict_is_recorded_once_and_bad_sizes_are_refused(text_project, people, labeled):
    c = client_for(people["reviewer"])
    audit = draw_audit(project=text_project, reviewer=people["reviewer"], size=2, seed=1)
    row = audit.items.first()
    url = f"/projects/{text_project.pk}/review/audits/{audit.pk}/verdict/"
    pos = text_project.labels.get(name="positive")
    c.post(url, {"row": row.pk, "label": pos.pk})
    r = c.post(url, {"row": row.pk, "label": pos.pk}, HTTP_HX_REQUEST="true")
    assert r.status_code == 409
    assert AuditItem.objects.filter(reviewed_at__isnull=False).count() == 1
    r = c.post(f"/projects/{text_project.pk}/review/audits/new/", {"size": 0}, follow=True)
    assert "1 to 1000 items" in r.content.decode()


def test_the_model_card_shows_the_latest_finished_audit_next_to_the_model_estimate(text_project, people, labeled):
    from learning.models import ModelVersion
    from review.audits import record_verdict

    ModelVersion.objects.create(project=text_project, name="v1", n_train=12, cv_accuracy=0.9, metrics={
        "estimated_noise_rate": 0.0, "estimated_wrong_labels": 0, "model_disagreements": 1, "n_labels": 12})
    c = client_for(people["reviewer"])
    page = c.get(f"/projects/{text_project.pk}/").content.decode()
    assert "Audit a random sample</a> for an estimate that does not depend on the model" in page
    assert "Audit a random sample" not in client_for(people["alice"]).get(f"/projects/{text_project.pk}/").content.decode()
    audit = draw_audit(project=text_project, reviewer=people["reviewer"], size=12, seed=3)
    negative = text_project.labels.get(name="negative")
    for row in audit.items.all():  # the auditor says "negative" to everything: the 8 positives count as wrong
        record_verdict(audit=audit, audit_item_id=row.pk, reviewer=people["reviewer"], label_id=negative.pk)
    page = c.get(f"/projects/{text_project.pk}/").content.decode()
    overall = Audit.objects.get(pk=audit.pk).summary["overall"]
    assert (overall["n"], overall["correct"]) == (12, 4)
    assert "Audit of 12 random labels" in page and "<strong>67%</strong> wrong (8; 95% interval" in page
    annotator = client_for(people["alice"]).get(f"/projects/{text_project.pk}/").content.decode()
    assert "Audit of 12 random labels" in annotator  # everyone sees the result; only reviewers get the link
