"""Uploading items and watching any job's progress bar."""
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from ..access import get_project_for_user
from ..errors import QuorumError
from ..imports import start_import
from ..models import Job, Role


class ImportForm(forms.Form):
    file = forms.FileField(help_text="Text: .csv or .jsonl with a 'text' column and an optional 'label' column. "
                           "Images: a .zip; sub-folder names become given labels.")
    queue_given = forms.BooleanField(required=False, label="Also send items that have a given label to annotators")


@login_required
def import_page(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = start_import(project=project, uploaded=form.cleaned_data["file"], user=request.user,
                               queue_given=form.cleaned_data["queue_given"])
        except QuorumError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("labeling:job", job.pk)
    imports = Job.objects.filter(project=project, kind=Job.Kind.IMPORT)[:10]
    return render(request, "labeling/import.html", {"project": project, "form": form, "imports": imports})


@login_required
def job_detail(request, job_id):
    job = get_object_or_404(Job.objects.select_related("project"), pk=job_id)
    get_project_for_user(request.user, job.project_id)
    template = "labeling/_job.html" if request.htmx else "labeling/job.html"
    return render(request, template, {"job": job, "project": job.project})
