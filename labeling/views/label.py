"""The labeling screen: one item at a time, keyboard first; htmx swaps in the next item."""
from functools import wraps

import markdown
import nh3
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from core.access import get_project_and_labels_for_request, get_project_and_labels_for_user, get_project_for_user
from core.models import Annotation, LabelSource
from core.selectors import project_labels
from labeling.queue import (
    OPEN_LEASE_COLUMN,
    UNREAD,
    correct_annotation,
    last_annotation,
    next_assignment,
    skip,
    submit_and_serve,
)
from labeling.selectors import annotator_progress, overall_progress, ranking_paused
from quorum.lib.errors import QuorumError
from quorum.lib.params import float_or, int_or_none


def render_guidelines(text: str) -> str:
    """Markdown to HTML, sanitised: guidelines are user input and must never carry script."""
    return nh3.clean(markdown.markdown(text or "", extensions=["extra"]))


# The partial's form targets, reversed once per project rather than six times in every render (~0.25 ms of a
# next item): a URL depends on nothing but the URL conf, the script prefix and the project.
_urls: dict[tuple, dict[str, str]] = {}


def _screen_urls(project_id: int) -> dict[str, str]:
    key = (get_urlconf(), get_script_prefix(), project_id)
    urls = _urls.get(key)
    if urls is None:
        if len(_urls) > 10_000:  # many projects in one process: drop the lot rather than grow
            _urls.clear()
        urls = _urls[key] = {name: reverse(f"labeling:{name}", args=[project_id]) for name in ("submit", "skip", "undo")}
    return urls


NOT_SERVED = object()


def _item_context(request, project, *, correcting: Annotation | None = None, error: str = "", open_lease=UNREAD,
                  served=NOT_SERVED):
    """The partial's context; ``served``: the next assignment (or None) when the caller leased it already."""
    labels = project_labels(project)
    if correcting is not None:
        item, assignment = correcting.item, None
    else:
        if served is NOT_SERVED:
            served = next_assignment(project=project, annotator=request.user, open_lease=open_lease)
        assignment = served
        item = assignment.item if assignment else None
    suggestion = None
    # A model-labelled item in the queue is an auto-accept spot check: it is labelled blind, or it would
    # measure how often people click the suggestion rather than how often the model is right.
    # The queue serves the item with its rank row (the pre-label) loaded.
    if item is not None and correcting is None and item.rank.predicted_label_id and item.final_source != LabelSource.MODEL:
        suggestion = next((lab for lab in labels if lab.pk == item.rank.predicted_label_id), None)
    mine = annotator_progress(project, request.user, counts=getattr(assignment, "progress_counts", None))
    # More open items than the annotator's own count walks: the bar shows the project's counts instead.
    overall = overall_progress(project) if mine["remaining_capped"] else None
    return {
        "project": project, "labels": labels, "item": item, "assignment": assignment, "correcting": correcting,
        "suggestion": suggestion, "mine": mine, "overall": overall, "error": error, "urls": _screen_urls(project.pk),
    }


def _respond(request, context, *, event: str | None = None):
    template = "labeling/_item.html" if request.htmx else "labeling/label.html"
    response = render(request, template, context)
    if event:
        trigger_client_event(response, event)
    return response


def _labeling_view(*, post_only: bool = False, gives_up=None):
    """login_required (and require_POST) with the member's project and labels, as the view's ``project``; its
    ``open_lease``: the annotator's open lease (for next_assignment) apart from the one the request gives up,
    ``gives_up(request)``, or UNREAD.

    The signed-in user is read in the same statement as the membership and that open lease when the session
    vouches for them there (core.access.get_project_and_labels_for_request); in any other case Django's own
    get_user and login_required decide, then get_project_and_labels_for_user, exactly as before.
    """
    def decorate(view):
        def member(request, project_id):
            project, _ = get_project_and_labels_for_user(request.user, project_id)
            return view(request, project, open_lease=UNREAD)

        ordinary = login_required(require_POST(member) if post_only else member)

        @wraps(view)
        def wrapper(request, project_id):
            found = None
            if not post_only or request.method == "POST":
                given_up = _lease_id(gives_up(request)) if gives_up is not None else 0
                found = get_project_and_labels_for_request(
                    request, project_id, columns={"open_lease": OPEN_LEASE_COLUMN}, params={"given_up": given_up})
            if found is None:
                return ordinary(request, project_id)
            project, _, read = found
            return view(request, project, open_lease=read["open_lease"])
        return wrapper
    return decorate


@_labeling_view()
def label_page(request, project, *, open_lease):
    context = _item_context(request, project, open_lease=open_lease)
    if request.htmx:  # the next item only: the page around it is already in the browser
        return _respond(request, context)
    context["guidelines_html"] = render_guidelines(project.guidelines)
    context["ranking_paused"] = ranking_paused(project)
    return render(request, "labeling/label.html", context)


def _lease_id(value: int | None) -> int:
    """An assignment id as the database can compare it; 0 (no assignment has it) for none or out of range."""
    return value if value is not None and 0 < value < 2**63 else 0


def _submitted(request) -> int | None:
    """The lease a submit gives up, if it succeeds (a correction gives up none)."""
    return None if request.POST.get("correcting") else int_or_none(request.POST.get("assignment"))


@_labeling_view(post_only=True, gives_up=_submitted)
def label_submit(request, project, *, open_lease):
    label_id = int_or_none(request.POST.get("label"))
    seconds = float_or(request.POST.get("seconds"))
    served = NOT_SERVED
    try:
        if request.POST.get("correcting"):
            correct_annotation(project=project, annotator=request.user, label_id=label_id, seconds=seconds,
                               annotation_id=int_or_none(request.POST.get("correcting")))
        else:
            *_, served = submit_and_serve(
                project=project, annotator=request.user, label_id=label_id, seconds=seconds,
                assignment_id=int_or_none(request.POST.get("assignment")),
                suggested_label_id=int_or_none(request.POST.get("suggested")), open_lease=open_lease)
    except QuorumError as exc:  # nothing was given up: the lease submitted is still open
        return _respond(request, _item_context(request, project, error=exc.message))
    return _respond(request, _item_context(request, project, open_lease=open_lease, served=served), event="labelSaved")


@_labeling_view(post_only=True, gives_up=lambda request: int_or_none(request.POST.get("assignment")))
def label_skip(request, project, *, open_lease):
    skip(project=project, annotator=request.user, assignment_id=int_or_none(request.POST.get("assignment")))
    return _respond(request, _item_context(request, project, open_lease=open_lease))


@_labeling_view(post_only=True)
def label_undo(request, project, *, open_lease):
    previous = last_annotation(project=project, annotator=request.user)
    if previous is None:
        return _respond(request, _item_context(request, project, error="Nothing to undo yet.", open_lease=open_lease))
    return _respond(request, _item_context(request, project, correcting=previous))


@login_required
def guidelines(request, project_id):
    project, _ = get_project_for_user(request.user, project_id)
    return HttpResponse(render_guidelines(project.guidelines))
