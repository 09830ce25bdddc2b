"""A job's page, refreshed by htmx while the job runs."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django_htmx.http import trigger_client_event

from core.access import get_project_for_user
from core.models import Job


@login_required
def job_detail(request, job_id):
    job = get_object_or_404(Job.objects.select_related("project"), pk=job_id)
    get_project_for_user(request.user, job.project_id)
    template = "projects/_job.html" if request.htmx else "projects/job.html"
    response = render(request, template, {"job": job, "project": job.project})
    if request.htmx and not job.is_active:
        # The last poll of a job: the dashboard parts a job changes (model card, counts, classes) reload.
        trigger_client_event(response, "jobEnded", {"job": job.pk, "kind": job.kind})
    return response
