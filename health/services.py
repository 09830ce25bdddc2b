"""Data health services and selectors: compute and store a report, request one, act on its findings, read them."""
from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.utils import timezone

from core import jobs
from core.models import Item, ItemRank, Job, Label, LabelEvent, LabelSource, Project
from core.services import set_final_label
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
    open_ids = ItemRank.objects.filter(project=project, is_open=True, priority__lt=2.0).values("pk")
    moved = 0
    preds = (Prediction.objects.filter(model_version=version, item__in=open_ids)
             .values_list("item_id", "probabilities").order_by("item_id").iterator(chunk_size=CHUNK))
    batch: list[ItemRank] = []
    for item_id, proba in preds:
        if column < len(proba):
            batch.append(ItemRank(pk=item_id, priority=float(proba[column])))
        if len(batch) >= CHUNK:
            moved += _write_priorities(batch)
            batch = []
    moved += _write_priorities(batch)
    return moved


def _write_priorities(batch: list[ItemRank]) -> int:
    if batch:
        with transaction.atomic():
            ItemRank.objects.bulk_update(batch, ["priority"], batch_size=2000)
    return len(batch)


@transaction.atomic
def label_finding_items(*, finding: Finding, item_ids: list[int], label: Label, user) -> int:
    """Set the final label of some of a finding's items (a duplicate group, or one item) as a reviewer decision.

    Every item gets a history line naming the finding (cause ``finding:<id>``), also when its label stays and
    only becomes a reviewer's. Returns the number of items whose history changed.
    """
    wanted = set(item_ids)
    if not wanted:
        raise QuorumError("Choose the items to label: a group or one item of this finding.")
    if not wanted <= set(finding.item_ids):
        raise QuorumError("Some of these items are not part of this finding; reload the page and try again.")
    if label.project_id != finding.project_id:
        raise QuorumError("That label belongs to another project.")
    items = list(Item.objects.select_for_update().filter(project_id=finding.project_id, pk__in=wanted).order_by("pk"))
    reason = f"set from the data-health finding “{finding.title}”"
    changed = 0
    for item in items:
        event = set_final_label(item=item, label=label, source=LabelSource.REVIEWER, actor=user, reason=reason,
                                cause=f"finding:{finding.pk}")
        changed += event is not None
    return changed


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
    by_id = Item.objects.select_related("final_label", "given_label", "rank__predicted_label").in_bulk(list(page_obj))
    page_obj.object_list = [by_id[i] for i in page_obj.object_list if i in by_id]
    return page_obj


def finding_groups(finding: Finding, *, page: int | str | None, per_page: int = 10) -> Page:
    """One page of the finding's duplicate groups (``params["groups"]``), each a dict: number, items (with
    labels), entries (per item: item, given label names, its latest label event), labels (distinct final label
    names) and settled (one label left)."""
    groups = [g for g in finding.params.get("groups", []) if g]
    page_obj = Paginator(groups, per_page).get_page(page)
    wanted = [i for g in page_obj.object_list for i in g]
    by_id = Item.objects.select_related("final_label", "given_label", "rank__predicted_label").in_bulk(wanted)
    latest = _latest_events(wanted)
    given = _given_labels(wanted)
    first = (page_obj.number - 1) * per_page
    rows = []
    for k, ids in enumerate(page_obj.object_list):
        items = [by_id[i] for i in ids if i in by_id]
        names = sorted({it.final_label.name for it in items if it.final_label})
        entries = [{"item": it, "given": given.get(it.pk, []), "event": latest.get(it.pk)} for it in items]
        rows.append({"number": first + k + 1, "items": items, "entries": entries, "labels": names,
                     "settled": len(names) == 1})
    page_obj.object_list = rows
    return page_obj


def _latest_events(item_ids: list[int]) -> dict[int, LabelEvent]:
    latest: dict[int, LabelEvent] = {}
    for event in (LabelEvent.objects.filter(item_id__in=item_ids).select_related("actor", "to_label", "from_label")
                  .order_by("item_id", "created_at", "id")):
        latest[event.item_id] = event
    return latest


def _given_labels(item_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for item_id, name in (LabelEvent.objects.filter(item_id__in=item_ids, source=LabelSource.GIVEN,
                                                    to_label__isnull=False)
                          .order_by("item_id", "to_label__order").values_list("item_id", "to_label__name").distinct()):
        out.setdefault(item_id, []).append(name)
    return out
