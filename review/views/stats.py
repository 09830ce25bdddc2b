"""Reviewer throughput and annotator quality pages (annotator quality is for managers only)."""
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from core.access import get_project_for_user
from core.models import Membership, Role
from review.quality import annotator_confusion, annotator_table, reviewer_stats


@login_required
def reviewer_stats_page(request, project_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    return render(request, "review/stats.html", {"project": project, **reviewer_stats(project),
                                                 "is_manager": membership.allows(Role.MANAGER)})


@login_required
def annotator_quality_page(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    rows = annotator_table(project)
    selected = None
    user_id = request.GET.get("annotator")
    if user_id:
        if not Membership.objects.filter(project=project, user_id=user_id).exists():
            raise Http404("No such annotator in this project")
        selected = {"user": get_user_model().objects.get(pk=user_id), **annotator_confusion(project, int(user_id))}
    return render(request, "review/quality.html", {"project": project, "rows": rows, "selected": selected,
                                                   "is_manager": True})
