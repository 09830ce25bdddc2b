"""The model-versions page: learning curve, per-class metrics and the auto-accept panel."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from core.access import get_project_for_user
from core.models import Role
from learning.autoaccept import status as auto_accept_status
from learning.selectors import model_versions
from quorum.lib import charts


@login_required
def models_page(request, project_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    versions = model_versions(project)
    points = [(v.n_train, v.cv_accuracy) for v in versions if v.cv_accuracy is not None and v.n_train]
    curve = charts.line_chart(points, title="Learning curve: cross-validated accuracy against labels",
                              xlabel="number of labels", ylabel="accuracy") if points else None
    rows = []
    for v in versions:
        per_class = v.metrics.get("per_class") or {}
        rows.append({"version": v, "per_class": [{"label": k, **m} for k, m in per_class.items()],
                     "ece": v.metrics.get("ece")})
    return render(request, "learning/models.html", {"project": project, "rows": rows, "curve": curve,
                                                  "aa": auto_accept_status(project),
                                                  "is_manager": membership.allows(Role.MANAGER)})
