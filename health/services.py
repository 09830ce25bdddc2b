"""Data health services and selectors: compute and store a report, request one, act on its findings, read them."""
from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import jobs
from core.models import Item, Job, Label, Project
from health.checks import run_checks
from health.job_kinds import HEALTH
from health.models import Finding, HealthReport
from health.rows import CHUNK, Progress
from learning.models import ModelVersion, Prediction
from quorum.lib.errors import QuorumError

SEVERITY_ORDER = {Finding.Severity.SEVERE: 0, Finding.Severity.WARNING: 1, Finding.Severity.INFO: 2}


def compute_health(*, project: Project, progress: Progress | None = None, job: Job | None = None) -> HealthReport:
    """Run every check over ``project`` and store a HealthReport with its findings (one transaction)."""
    progress = progress or (lambda done, message: None)
    results, findings, version = run_checks(project, progress)
    progress(97, "Saving the report")
    return _store(project, job, version, results, findings)


@transaction.atomic
def _store(project, job, version, results: dict, findings: list[dict]) -> HealthReport:
    previous = HealthReport.objects.filter(project=project).first()
    dismissed = {}
    if previous is not None:
        dismissed = {f.key: f for f in previous.findings.filter(dismissed=True)}
    report = HealthReport.objects.create(project=project, job=job, model_version=version,
                                         n_items=results["n_items"], results=results)
    rows = []
    for f in sorted(findings, key=lambda f: (SEVERITY_ORDER[f["severity"]], -f["count"])):
        row = Finding(report=report, project=project, **f)
        old = dismissed.get(f["key"])
        # A dismissal carries over only while nothing new appears behind the finding.
        if old is not None and set(f["item_ids"]) <= set(old.item_ids):
            row.dismissed, row.dismissed_reason = True, old.dismissed_reason
            row.dismissed_by_id, row.dismissed_at = old.dismissed_by_id, old.dismissed_at
        rows.append(row)
    Finding.objects.bulk_create(rows)
    return report


def request_health(*, project: Project, user) -> Job:
    """Queue a health job, or return the one already queued or running."""
    return jobs.request_job(project=project, kind=HEALTH, user=user, total=100)[0]


# ---------------------------------------------------------------- actions


@transaction.atomic
def dismiss_finding(*, finding: Finding, user, reason: str) -> Finding:
    reason = (reason or "").strip()
    if not reason:
        raise QuorumError("Say why you dismiss this finding (e.g. 'these dark images are night shots, keep them').")
    Finding.objects.filter(pk=finding.pk).update(dismissed=True, dismissed_reason=reason[:300], dismissed_by=user,
                                                 dismissed_at=timezone.now())
    finding.refresh_from_db()
    return finding


@transaction.atomic
def restore_finding(*, finding: Finding) -> Finding:
    Finding.objects.filter(pk=finding.pk).update(dismissed=False, dismissed_reason="", dismissed_by=None,
                                                 dismissed_at=None)
    finding.refresh_from_db()
    return finding


def boost_class(*, project: Project, label: Label) -> int:
    """Set the queue priority of open items to the latest model's probability of ``label``.

    Open items the model thinks belong to the rare class are served first. Escalated items (priority >= 2)
    keep their place; the next retrain re-ranks by uncertainty again. Returns the number of items moved.
    """
    version = ModelVersion.objects.filter(project=project).first()
    if version is None:
        raise QuorumError("There is no model yet to find this class: label some items and retrain first.")
    column = label.order
    open_ids = Item.objects.filter(project=project, annotation_count__lt=F("needed"), excluded=False,
                                   priority__lt=2.0)
    moved = 0
    preds = (Prediction.objects.filter(model_version=version, item__in=open_ids)
             .values_list("item_id", "probabilities").order_by("item_id").iterator(chunk_size=CHUNK))
    batch: list[Item] = []
    for item_id, proba in preds:
        if column < len(proba):
            batch.append(Item(pk=item_id, priority=float(proba[column])))
        if len(batch) >= CHUNK:
            moved += _write_priorities(batch)
            batch = []
    moved += _write_priorities(batch)
    return moved


def _write_priorities(batch: list[Item]) -> int:
    if batch:
        with transaction.atomic():
            Item.objects.bulk_update(batch, ["priority"], batch_size=2000)
    return len(batch)


# ---------------------------------------------------------------- selectors


def latest_report(project: Project) -> HealthReport | None:
    return HealthReport.objects.filter(project=project).first()


def report_findings(report: HealthReport) -> list[Finding]:
    rows = list(report.findings.select_related("dismissed_by").defer("item_ids"))
    return sorted(rows, key=lambda f: (f.dismissed, SEVERITY_ORDER[f.severity], -f.count))


def get_finding(project: Project, finding_id: int) -> Finding | None:
    return Finding.objects.select_related("report", "dismissed_by").filter(pk=finding_id, project=project).first()


def finding_items(finding: Finding, *, page: int | str | None, per_page: int = 48) -> Page:
    """One page of the finding's items, in the finding's order, with their labels."""
    paginator = Paginator(finding.item_ids, per_page)
    page_obj = paginator.get_page(page)
    by_id = Item.objects.select_related("final_label", "given_label", "predicted_label").in_bulk(list(page_obj))
    page_obj.object_list = [by_id[i] for i in page_obj.object_list if i in by_id]
    return page_obj
