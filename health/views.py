"""The data-health page, a finding's items, dismissing findings, boosting a rare class, and model versions."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import jobs
from core.access import get_project_for_user
from core.models import Job, Role
from health.job_kinds import HEALTH
from health.services import (
    dismiss_finding,
    finding_groups,
    finding_items,
    get_finding,
    label_finding_items,
    latest_report,
    report_findings,
    request_health,
    restore_finding,
)
from learning.models import ModelVersion
from quorum.lib import charts
from quorum.lib.errors import QuorumError


def _health_charts(results: dict) -> dict:
    out = {}
    classes = results.get("classes") or {}
    if classes.get("labels"):
        # a source with no label yet (no annotator has labeled, nothing came with the import) is left out of the
        # chart rather than drawn as a row of zero bars
        kept = [(name, colour) for name, colour in zip(("given", "human", "final"), charts.SERIES, strict=True)
                if name == "final" or any(classes[name])]
        out["classes"] = charts.grouped_bars(
            classes["labels"], [(name, classes[name]) for name, _ in kept],
            title="Items per class: given at import, labels from annotators, final", highlight=set(classes["rare"]),
            colours=[colour for _, colour in kept])
    perf = results.get("performance")
    if perf:
        out["confusion"] = charts.heatmap(perf["confusion"], perf["labels"], title="Confusion matrix (out-of-fold)")
        weak = [(f"{s['field']} = {s['value']}", s["accuracy"], s["count"], s["weak"]) for s in perf["slices"][:15]]
        if weak:
            out["slices"] = charts.accuracy_bars(weak, title="Model accuracy per metadata slice, worst first",
                                                 reference=perf["accuracy"])
    quality = results.get("label_quality")
    if quality:
        out["quality"] = charts.histogram(quality["counts"], quality["edges"], title="Label-quality scores",
                                          xlabel="model probability of the final label")
    content = results.get("content") or {}
    if content.get("brightness"):
        b = content["brightness"]
        out["brightness"] = charts.histogram(b["counts"], b["edges"], title="Brightness of images",
                                             xlabel="mean grey level (0 black, 255 white)")
    return out


def _health_context(project, membership) -> dict:
    report = latest_report(project)
    findings = report_findings(report) if report else []
    results = report.results if report else {}
    open_findings = [f for f in findings if not f.dismissed]
    human = dict(results.get("human") or {})
    if human.get("model_share_of_human") is not None:
        human["model_share_of_human_pct"] = round(100 * human["model_share_of_human"])
    if human.get("agreement") is not None:
        human["agreement_pct"] = round(100 * human["agreement"])
    results = {**results, "human": human}
    threshold = (results.get("classes") or {}).get("threshold")
    return {
        "project": project, "report": report, "results": results,
        "sev": {s: sum(1 for f in open_findings if f.severity == s) for s in ("severe", "warning", "info")},
        "rare_threshold_pct": round(100 * threshold, 1) if threshold else None, "charts": _health_charts(results) if report else {},
        "findings": findings, "open_findings": open_findings,
        "dismissed_findings": [f for f in findings if f.dismissed],
        "job": jobs.active_job(project, HEALTH) or Job.objects.filter(project=project, kind=HEALTH).first(),
        "is_manager": membership.allows(Role.MANAGER), "has_model": ModelVersion.objects.filter(project=project).exists(),
    }


@login_required
def health_page(request, project_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    return render(request, "health/health.html", _health_context(project, membership))


@login_required
@require_POST
def health_run(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    request_health(project=project, user=request.user)
    return redirect("health:health", project.pk)


@login_required
def health_status(request, project_id):
    """Polled by the page while a job runs: nothing to swap until it ends, then a full refresh."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    if jobs.active_job(project, HEALTH) is not None:
        return HttpResponse(status=204)
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response


def _finding_or_404(project, finding_id):
    finding = get_finding(project, finding_id)
    if finding is None:
        raise Http404("No such finding")
    return finding


@login_required
def finding_detail(request, project_id, finding_id):
    """The finding's items: duplicate findings group by group, with a label form per group and per item."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    finding = _finding_or_404(project, finding_id)
    context = {"project": project, "finding": finding, "labels": list(project.labels.all())}
    if finding.params.get("groups"):
        context["groups"] = finding_groups(finding, page=request.GET.get("page"))
    else:
        context["page"] = finding_items(finding, page=request.GET.get("page"))
    return render(request, "health/health_finding.html", context)


@login_required
@require_POST
def finding_label(request, project_id, finding_id):
    """Set the final label of a duplicate group (or of one item) of a finding; back to the same group."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    finding = _finding_or_404(project, finding_id)
    label = project.labels.filter(pk=_int(request.POST.get("label"))).first()
    item_ids = [i for i in (_int(v) for v in request.POST.getlist("item")) if i is not None]
    try:
        if label is None:
            raise QuorumError("Choose one of the project's labels.")
        changed = label_finding_items(finding=finding, item_ids=item_ids, label=label, user=request.user)
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{label.name} set on {len(item_ids)} item{'s' if len(item_ids) != 1 else ''}"
                                  f" ({changed} changed); the history names this finding.")
    page = _int(request.POST.get("page")) or 1
    group = _int(request.POST.get("group"))
    url = reverse("health:finding", args=[project.pk, finding.pk])
    return redirect(f"{url}?page={page}" + (f"#group-{group}" if group else ""))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def finding_dismiss(request, project_id, finding_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    finding = _finding_or_404(project, finding_id)
    error, status = None, 200
    try:
        if request.POST.get("restore"):
            finding = restore_finding(finding=finding)
        else:
            finding = dismiss_finding(finding=finding, user=request.user, reason=request.POST.get("reason", ""))
    except QuorumError as exc:
        error, status = exc.message, exc.status
    context = {"project": project, "f": finding, "error": error, "is_manager": membership.allows(Role.MANAGER),
               "has_model": ModelVersion.objects.filter(project=project).exists()}
    if request.htmx:
        return render(request, "health/_finding.html", context, status=status)
    if error:
        messages.error(request, error)
    return redirect("health:health", project.pk)


@login_required
@require_POST
def boost(request, project_id, finding_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    finding = _finding_or_404(project, finding_id)
    label = project.labels.filter(pk=finding.params.get("label_id")).first()
    if label is None:
        raise Http404("This finding is not about a class")
    if not ModelVersion.objects.filter(project=project).exists():
        messages.error(request, "There is no model yet to find this class: label some items and retrain first.")
    else:
        jobs.send_task("health.tasks.boost_class", args=[label.pk])
        messages.success(request, f"Open items the model thinks are {label.name} now come first in the labeling queue "
                                  "(until the next retrain re-ranks it).")
    return redirect("health:health", project.pk)
