"""The reviewer's queue of open flags and the flag view with its decision actions."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from labeling.access import get_project_for_user
from labeling.errors import QuorumError
from labeling.models import Role

from ..models import Flag
from ..selectors import flag_counts, flag_detail, next_open_flag, open_flags
from ..services import resolve_flag


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def review_queue(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    reason = request.GET.get("reason") or None
    if reason and reason not in Flag.Reason.values:
        reason = None
    flags = list(open_flags(project, reason=reason)[:200])
    counts = flag_counts(project)
    reasons = [{"value": v, "label": lbl, "count": counts.get(v, 0)} for v, lbl in Flag.Reason.choices]
    return render(request, "review/queue.html", {"project": project, "flags": flags, "reasons": reasons,
                                                 "reason": reason, "total": sum(counts.values())})


def _get_flag(request, project, flag_id) -> Flag:
    flag = Flag.objects.select_related("item", "item__final_label", "item__project", "resolved_by").filter(
        pk=flag_id, project=project).first()
    if flag is None:
        raise Http404("No such flag")
    return flag


@login_required
def flag_view(request, project_id, flag_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    flag = _get_flag(request, project, flag_id)
    template = "review/_flag.html" if request.htmx else "review/flag.html"
    return render(request, template, {"project": project, **flag_detail(flag)})


@login_required
@require_POST
def flag_resolve(request, project_id, flag_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    flag = _get_flag(request, project, flag_id)
    try:
        resolve_flag(flag_id=flag.pk, reviewer=request.user, version=_int_or_none(request.POST.get("version")) or 0,
                     label_id=_int_or_none(request.POST.get("label")), note=request.POST.get("note", "")[:300])
    except QuorumError as exc:
        flag.refresh_from_db()
        context = {"project": project, **flag_detail(flag), "error": exc.message}
        template = "review/_flag.html" if request.htmx else "review/flag.html"
        return render(request, template, context, status=exc.status)
    nxt = next_open_flag(project)
    if nxt is None:
        if request.htmx:
            return HttpResponseClientRedirect(f"/projects/{project.pk}/review/")
        return redirect("review:queue", project.pk)
    if request.htmx:
        return render(request, "review/_flag.html", {"project": project, **flag_detail(nxt), "just_done": flag})
    return redirect("review:flag", project.pk, nxt.pk)
