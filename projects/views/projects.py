"""Project list, creation and the project dashboard."""
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from core.access import get_project_for_user, projects_for_user
from core.jobs import active_job, recent_jobs
from core.models import Project, Role
from core.services import project_create, project_creation_refused
from core.stats import class_counts, project_stats
from labeling.selectors import annotator_progress, ranking_paused
from learning import autoaccept
from learning.job_kinds import RETRAIN
from learning.schedule import request_retrain
from learning.selectors import latest_model
from ml.active import DEFAULT_STRATEGY, STRATEGY_CHOICES
from quorum.lib.errors import QuorumError
from review.selectors import latest_audit_estimate


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Project.Kind.choices)
    labels = forms.CharField(help_text="Comma-separated, in key order: the first gets key 1, the tenth key 0, "
                             "then letters. May be left empty for a folder import whose sub-folders are the labels.",
                             required=False)
    guidelines = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False,
                                 help_text="Markdown.")
    overlap = forms.IntegerField(min_value=1, max_value=10, initial=1, help_text="Annotators per item.")
    retrain_every = forms.IntegerField(min_value=1, initial=50, help_text="Retrain after this many new labels.")
    query_strategy = forms.ChoiceField(choices=STRATEGY_CHOICES, initial=DEFAULT_STRATEGY,
                                       help_text="How the labeling queue is ordered once a model exists.")
    adjudication_k = forms.IntegerField(min_value=1, max_value=10, initial=2, label="Adjudication k",
                                        help_text="Extra blind annotators a reviewer's escalation asks for.")
    consensus_threshold = forms.FloatField(min_value=0.0, max_value=1.0, initial=0.7,
                                           widget=forms.NumberInput(attrs={"step": "0.05"}),
                                           help_text="Below this consensus confidence (0–1), a reviewer decides.")


@login_required
def project_list(request):
    rows = []
    for project in projects_for_user(request.user):
        rows.append({"project": project, "progress": project_stats(project)})
    return render(request, "projects/projects.html", {"rows": rows,
                                                      "may_create": not project_creation_refused(request.user)})


@login_required
def project_new(request):
    refused = project_creation_refused(request.user)
    if refused:
        raise PermissionDenied(refused)
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = project_create(name=data["name"], kind=data["kind"], labels=data["labels"].split(","),
                                     owner=request.user, guidelines=data["guidelines"], overlap=data["overlap"],
                                     retrain_every=data["retrain_every"], query_strategy=data["query_strategy"],
                                     adjudication_k=data["adjudication_k"],
                                     consensus_threshold=data["consensus_threshold"])
        except QuorumError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("projects:project", project.pk)
    return render(request, "projects/project_new.html", {"form": form})


@login_required
def project_detail(request, project_id):
    project, membership = get_project_for_user(request.user, project_id)
    progress = project_stats(project)
    context = {
        "project": project, "membership": membership, "progress": progress,
        "mine": annotator_progress(project, request.user), "model": latest_model(project),
        "jobs": recent_jobs(project), "classes": class_counts(project, progress),
        "is_manager": membership.allows(Role.MANAGER), "is_reviewer": membership.allows(Role.REVIEWER),
        "ranking_paused": ranking_paused(project), "retraining": active_job(project, RETRAIN),
        "audit": latest_audit_estimate(project),
    }
    if context["is_reviewer"]:
        context["aa"] = autoaccept.status(project)
    return render(request, "projects/project.html", context)


@login_required
@require_POST
def project_retrain(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    job = request_retrain(project=project, user=request.user)
    if not request.htmx:
        return redirect("projects:project", project.pk)
    # Feedback at once: the job appears in the list (polling until it ends) and the model card says so.
    response = render(request, "projects/_jobs.html", {
        "jobs": recent_jobs(project), "project": project,
        "started": f"Retrain queued as job {job.pk}; the model card updates when it ends."})
    return trigger_client_event(response, "jobStarted", {"job": job.pk})
