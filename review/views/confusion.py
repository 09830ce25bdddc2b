"""The confusion view: the model's out-of-fold confusion matrix, one cell's items, bulk relabel."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.access import get_project_for_user
from core.models import Role
from quorum.lib.errors import QuorumError
from quorum.lib.params import int_or_none
from review.decisions import bulk_relabel
from review.matrix import cell_items, confusion


@login_required
def confusion_page(request, project_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    return render(request, "review/confusion.html", {"project": project, "matrix": confusion(project),
                                                     "is_manager": membership.allows(Role.MANAGER)})


@login_required
def confusion_cell(request, project_id, given_id, predicted_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    data = cell_items(project, given_id=given_id, predicted_id=predicted_id)
    return render(request, "review/confusion_cell.html", {"project": project, **data,
                                                           "labels": list(project.labels.all())})


@login_required
@require_POST
def confusion_relabel(request, project_id, given_id, predicted_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    ids = [i for i in (int_or_none(v) for v in request.POST.getlist("items")) if i]
    try:
        events = bulk_relabel(project=project, reviewer=request.user, item_ids=ids,
                              label_id=int_or_none(request.POST.get("label")),
                              reason=request.POST.get("reason", "")[:300])
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"Relabeled {len(events)} item{'s' if len(events) != 1 else ''}.")
    return redirect(reverse("review:confusion_cell", args=[project.pk, given_id, predicted_id]))
