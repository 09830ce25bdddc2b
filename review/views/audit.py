"""Audit sampling screens: draw a sample, review it blind one item at a time, read the estimates over time."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.access import get_project_for_user
from core.models import Role
from quorum.lib.errors import QuorumError
from quorum.lib.params import int_or_none
from review.audits import audit_summary, draw_audit, next_audit_item, record_verdict
from review.models import Audit
from review.workspace import review_keys


def _get_audit(project, audit_id) -> Audit:
    audit = Audit.objects.filter(pk=audit_id, project=project).select_related("created_by").first()
    if audit is None:
        raise Http404("No such audit")
    return audit


@login_required
def audit_list(request, project_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    audits = list(Audit.objects.filter(project=project).select_related("created_by")[:50])
    for audit in audits:
        audit.result = audit.summary or audit_summary(audit)
    return render(request, "review/audits.html", {"project": project, "audits": audits,
                                                 "is_manager": membership.allows(Role.MANAGER)})


@login_required
@require_POST
def audit_new(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    try:
        audit = draw_audit(project=project, reviewer=request.user, size=int_or_none(request.POST.get("size")) or 0)
    except QuorumError as exc:
        messages.error(request, exc.message)
        return redirect("review:audits", project.pk)
    return redirect("review:audit", project.pk, audit.pk)


@login_required
def audit_page(request, project_id, audit_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    audit = _get_audit(project, audit_id)
    return _audit_response(request, project, audit)


def _audit_response(request, project, audit, *, error: str = "", status: int = 200):
    row = next_audit_item(audit)
    labels = list(project.labels.all())
    keys = review_keys(labels)
    done = audit.items.filter(reviewed_at__isnull=False).count()
    context = {"project": project, "audit": audit, "row": row, "done": done, "error": error,
               "labels": [{"label": lab, "key": keys.get(lab.pk)} for lab in labels],
               "summary": audit.summary or audit_summary(audit),
               "percent": int(100 * done / audit.size) if audit.size else 100}
    template = "review/_audit_item.html" if request.htmx else "review/audit.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def audit_verdict(request, project_id, audit_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    audit = _get_audit(project, audit_id)
    try:
        record_verdict(audit=audit, audit_item_id=int_or_none(request.POST.get("row")) or 0, reviewer=request.user,
                       label_id=int_or_none(request.POST.get("label")))
    except QuorumError as exc:
        audit.refresh_from_db()
        return _audit_response(request, project, audit, error=exc.message, status=exc.status)
    audit.refresh_from_db()
    return _audit_response(request, project, audit)
