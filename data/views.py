"""Uploading items and watching any job's progress bar."""
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from core.access import get_project_for_user
from core.models import Job, Role
from data.imports import start_import, start_url_import
from data.job_kinds import IMPORT
from quorum.lib.errors import QuorumError


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text=(
        "Text: .csv, .jsonl or .json (an array of records) with a 'text' column and an optional 'label' column. "
        "Images: a .zip; sub-folder names become given labels, or a manifest (file, label, metadata) gives them."))
    url = forms.URLField(required=False, max_length=2000, label="Or a URL", assume_scheme="https",
                         help_text="A .csv, .jsonl, .json or .zip file on a public server; Quorum downloads it.",
                         widget=forms.URLInput(attrs={"placeholder": "https://data.example.org/reviews.jsonl"}))
    queue_given = forms.BooleanField(required=False, label="Also send items that have a given label to annotators")
    strict = forms.BooleanField(required=False, label="Strict: refuse an image archive if any file in it cannot be read")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.QUORUM_ALLOW_URL_IMPORT:  # switched off: no field that could only fail
            del self.fields["url"]
        else:
            self.order_fields(["file", "url", "queue_given", "strict"])

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("url"):
            raise forms.ValidationError("Choose a file to upload" + (" or give a URL." if "url" in self.fields else "."))
        if data.get("file") and data.get("url"):
            raise forms.ValidationError("Upload a file or give a URL, not both.")
        return data


@login_required
def import_page(request, project_id):
    project, _ = get_project_for_user(request.user, project_id, Role.MANAGER)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data.get("url"):
                job = start_url_import(project=project, url=form.cleaned_data["url"], user=request.user,
                                       queue_given=form.cleaned_data["queue_given"], strict=form.cleaned_data["strict"])
            else:
                job = start_import(project=project, uploaded=form.cleaned_data["file"], user=request.user,
                                   queue_given=form.cleaned_data["queue_given"], strict=form.cleaned_data["strict"])
        except QuorumError as exc:
            form.add_error("url" if form.cleaned_data.get("url") else "file", exc.message)
        else:
            return redirect("projects:job", job.pk)
    imports = Job.objects.filter(project=project, kind=IMPORT)[:10]
    return render(request, "data/import.html", {"project": project, "form": form, "imports": imports})
