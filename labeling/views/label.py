"""The labeling screen: one item at a time, keyboard first; htmx swaps in the next item."""
import markdown
import nh3
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from core.access import get_project_and_labels_for_user, get_project_for_user
from core.models import Annotation, LabelSource
from core.selectors import project_labels
from labeling.queue import correct_annotation, last_annotation, next_assignment, skip, submit_annotation
from labeling.selectors import annotator_progress, overall_progress, ranking_paused
from quorum.lib.errors import QuorumError
from quorum.lib.params import float_or, int_or_none


def render_guidelines(text: str) -> str:
    """Markdown to HTML, sanitised: guidelines are user input and must never carry script."""
    return nh3.clean(markdown.markdown(text or "", extensions=["extra"]))


def _item_context(request, project, *, correcting: Annotation | None = None, error: str = ""):
    labels = project_labels(project)
    if correcting is not None:
        item, assignment = correcting.item, None
    else:
        assignment = next_assignment(project=project, annotator=request.user)
        item = assignment.item if assignment else None
    suggestion = None
    # A model-labelled item in the queue is an auto-accept spot check: it is labelled blind, or it would
    # measure how often people click the suggestion rather than how often the model is right.
    if item is not None and item.predicted_label_id and correcting is None and item.final_source != LabelSource.MODEL:
        suggestion = next((lab for lab in labels if lab.pk == item.predicted_label_id), None)
    mine = annotator_progress(project, request.user, counts=getattr(assignment, "progress_counts", None))
    # More open items than the annotator's own count walks: the bar shows the project's counts instead.
    overall = overall_progress(project) if mine["remaining_capped"] else None
    return {
        "project": project, "labels": labels, "item": item, "assignment": assignment, "correcting": correcting,
        "suggestion": suggestion, "mine": mine, "overall": overall, "error": error,
    }


def _respond(request, context, *, event: str | None = None):
    template = "labeling/_item.html" if request.htmx else "labeling/label.html"
    response = render(request, template, context)
    if event:
        trigger_client_event(response, event)
    return response


@login_required
def label_page(request, project_id):
    project, _ = get_project_and_labels_for_user(request.user, project_id)
    context = _item_context(request, project)
    if request.htmx:  # the next item only: the page around it is already in the browser
        return _respond(request, context)
    context["guidelines_html"] = render_guidelines(project.guidelines)
    context["ranking_paused"] = ranking_paused(project)
    return render(request, "labeling/label.html", context)


@login_required
@require_POST
def label_submit(request, project_id):
    project, _ = get_project_and_labels_for_user(request.user, project_id)
    label_id = int_or_none(request.POST.get("label"))
    seconds = float_or(request.POST.get("seconds"))
    try:
        if request.POST.get("correcting"):
            correct_annotation(project=project, annotator=request.user, label_id=label_id, seconds=seconds,
                               annotation_id=int_or_none(request.POST.get("correcting")))
        else:
            submit_annotation(project=project, annotator=request.user, label_id=label_id, seconds=seconds,
                              assignment_id=int_or_none(request.POST.get("assignment")),
                              suggested_label_id=int_or_none(request.POST.get("suggested")))
    except QuorumError as exc:
        return _respond(request, _item_context(request, project, error=exc.message))
    return _respond(request, _item_context(request, project), event="labelSaved")


@login_required
@require_POST
def label_skip(request, project_id):
    project, _ = get_project_and_labels_for_user(request.user, project_id)
    skip(project=project, annotator=request.user, assignment_id=int_or_none(request.POST.get("assignment")))
    return _respond(request, _item_context(request, project))


@login_required
@require_POST
def label_undo(request, project_id):
    project, _ = get_project_and_labels_for_user(request.user, project_id)
    previous = last_annotation(project=project, annotator=request.user)
    if previous is None:
        return _respond(request, _item_context(request, project, error="Nothing to undo yet."))
    return _respond(request, _item_context(request, project, correcting=previous))


@login_required
def guidelines(request, project_id):
    project, _ = get_project_for_user(request.user, project_id)
    return HttpResponse(render_guidelines(project.guidelines))
