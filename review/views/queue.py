"""The reviewer's queue of open flags and the flag view with its decision actions (htmx swaps the next flag in)."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.access import get_project_for_user
from core.models import Role
from quorum.lib.errors import Conflict, QuorumError
from quorum.lib.params import int_or_none
from review.decisions import add_comment, escalate_flag, mark_flag, resolve_flag, undo_last
from review.models import Flag
from review.selectors import FILTERS, filter_counts, flag_page, open_flags
from review.services import request_flag_run
from review.workspace import flag_detail


def request_cache(request) -> dict:
    """Per-request memo (features for the nearest neighbours are computed once per request)."""
    return request.__dict__.setdefault("_review_cache", {})


def _filters(data) -> dict:
    out = {}
    reason = data.get("reason")
    if reason in Flag.Reason.values:
        out["reason"] = reason
    for name in ("label", "suggested", "annotator"):
        value = int_or_none(data.get(name))
        if value:
            out[name] = value
    return out


def _filter_options(project, filters: dict) -> list[dict]:
    counts = filter_counts(project, filters)
    labels = list(project.labels.all())
    users = {u.pk: u.get_username() for u in get_user_model().objects.filter(pk__in=counts["annotator"])}
    names = {
        "reason": dict(Flag.Reason.choices), "label": {lab.pk: lab.name for lab in labels},
        "suggested": {lab.pk: lab.name for lab in labels}, "annotator": users,
    }
    titles = {"reason": "Reason", "label": "Current label", "suggested": "Suggested label", "annotator": "Annotator"}
    groups = []
    for name in FILTERS:
        options = []
        for value, text in names[name].items():
            others = {k: v for k, v in filters.items() if k != name}
            active = filters.get(name) == value
            query = urlencode(others if active else {**others, name: value})
            options.append({"value": value, "text": text, "count": counts[name].get(value, 0), "active": active,
                            "href": f"?{query}"})
        groups.append({"name": name, "title": titles[name], "options": options})
    return groups


@login_required
def review_queue(request, project_id):
    project, membership = get_project_for_user(request.user, project_id, Role.REVIEWER)
    filters = _filters(request.GET)
    page = flag_page(project, filters=filters, after=_cursor(request.GET.get("after")),
                     before=_cursor(request.GET.get("before")), size=PAGE_SIZE)
    total = Flag.objects.filter(project=project, status=Flag.Status.OPEN).count()
    matching = open_flags(project, filters=filters).count() if filters else total
    return render(request, "review/queue.html", {
        "project": project, "flags": page["flags"], "groups": _filter_options(project, filters), "filters": filters,
        "query": urlencode(filters), "total": total, "shown": matching,
        "next_url": _page_url(filters, "after", page["next"]), "prev_url": _page_url(filters, "before", page["prev"]),
        "is_manager": membership.allows(Role.MANAGER),
    })


PAGE_SIZE = 50


def _cursor(value: str | None) -> tuple[float, int] | None:
    """"0.875:42" -> (0.875, 42); anything else is no cursor (the first page)."""
    try:
        score, pk = (value or "").split(":")
        return float(score), int(pk)
    except ValueError:
        return None


def _page_url(filters: dict, name: str, key: tuple[float, int] | None) -> str:
    return f"?{urlencode({**filters, name: f'{key[0]!r}:{key[1]}'})}" if key else ""


def _get_flag(project, flag_id) -> Flag:
    flag = Flag.objects.select_related("item", "item__final_label", "item__project", "resolved_by", "model_version",
                                       "suggested_label").filter(pk=flag_id, project=project).first()
    if flag is None:
        raise Http404("No such flag")
    return flag


def _neighbours_in_queue(project, flag, filters: dict) -> dict:
    """The open flags before and after this one in queue order (J/K on the flag view)."""
    ids = list(open_flags(project, filters=filters).values_list("pk", flat=True)[:1000])
    if flag.pk not in ids:
        return {"next": ids[0] if ids else None, "prev": None}
    i = ids.index(flag.pk)
    return {"next": ids[i + 1] if i + 1 < len(ids) else None, "prev": ids[i - 1] if i > 0 else None}


def _render_flag(request, project, flag, *, filters: dict, status: int = 200, **extra):
    template = "review/_flag.html" if request.htmx else "review/flag.html"
    context = {"project": project, "query": urlencode(filters), **flag_detail(flag, cache=request_cache(request)),
               "nav": _neighbours_in_queue(project, flag, filters), **extra}
    return render(request, template, context, status=status)


@login_required
def flag_view(request, project_id, flag_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    return _render_flag(request, project, _get_flag(project, flag_id), filters=_filters(request.GET))


def _next_or_queue(request, project, filters: dict, done: Flag | None, message: str):
    """Swap the next open flag (same filters) in at once; back to the queue when none is left."""
    nxt = open_flags(project, filters=filters).first()
    queue_url = reverse("review:queue", args=[project.pk]) + (f"?{urlencode(filters)}" if filters else "")
    if nxt is None:
        return HttpResponseClientRedirect(queue_url) if request.htmx else redirect(queue_url)
    if request.htmx:
        return _render_flag(request, project, nxt, filters=filters, just_done=message)
    return redirect(reverse("review:flag", args=[project.pk, nxt.pk]) + (f"?{urlencode(filters)}" if filters else ""))


def _posted_filters(request) -> dict:
    return _filters(QueryDict(request.POST.get("q", "")))


def _check_named_flag(request, flag: Flag) -> None:
    """A decision form names the flag it was shown for; a request naming another flag changes nothing."""
    named = request.POST.get("flag")
    if named is not None and int_or_none(named) != flag.pk:
        raise Conflict(f"This decision was made on flag {named}, not on flag {flag.pk}; nothing was changed. "
                       f"Here is flag {flag.pk} as it is now.")


def _refused(request, project, flag, filters, exc: QuorumError):
    flag = _get_flag(project, flag.pk)
    return _render_flag(request, project, flag, filters=filters, status=exc.status, error=exc.message)


@login_required
@require_POST
def flag_resolve(request, project_id, flag_id):
    """Accept the current label (no ``label``) or set another one."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    flag = _get_flag(project, flag_id)
    filters = _posted_filters(request)
    try:
        _check_named_flag(request, flag)
        flag = resolve_flag(flag_id=flag.pk, reviewer=request.user, note=request.POST.get("note", "")[:300],
                            version=int_or_none(request.POST.get("version")) or 0,
                            label_id=int_or_none(request.POST.get("label")))
    except QuorumError as exc:
        return _refused(request, project, flag, filters, exc)
    return _next_or_queue(request, project, filters, flag, f"Item {flag.item_id}: {flag.resolution}.")


@login_required
@require_POST
def flag_decide(request, project_id, flag_id):
    """Escalate for more blind labels, mark ambiguous or exclude from training (the last two need a reason)."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    flag = _get_flag(project, flag_id)
    filters = _posted_filters(request)
    action = request.POST.get("action", "")
    version = int_or_none(request.POST.get("version")) or 0
    try:
        _check_named_flag(request, flag)
        if action == "escalate":
            flag = escalate_flag(flag_id=flag.pk, reviewer=request.user, version=version)
        elif action in ("ambiguous", "exclude"):
            flag = mark_flag(flag_id=flag.pk, reviewer=request.user, version=version, action=action,
                             reason=request.POST.get("reason", "")[:300])
        else:
            raise QuorumError(f"Unknown action {action!r}: use escalate, ambiguous or exclude.")
    except QuorumError as exc:
        return _refused(request, project, flag, filters, exc)
    return _next_or_queue(request, project, filters, flag, f"Item {flag.item_id}: {flag.resolution}.")


@login_required
@require_POST
def flag_comment(request, project_id, flag_id):
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    flag = _get_flag(project, flag_id)
    filters = _posted_filters(request)
    try:
        _check_named_flag(request, flag)
        add_comment(item=flag.item, author=request.user, text=request.POST.get("text", ""), flag=flag)
    except QuorumError as exc:
        return _refused(request, project, flag, filters, exc)
    return _render_flag(request, project, flag, filters=filters, just_done="Comment added.")


@login_required
@require_POST
def review_undo(request, project_id):
    """Undo my last decision in this project and show its flag again (or the item when it had none)."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    filters = _posted_filters(request)
    try:
        event, flag = undo_last(project=project, reviewer=request.user)
    except QuorumError as exc:
        current = int_or_none(request.POST.get("flag"))
        if request.htmx and current:
            return _refused(request, project, _get_flag(project, current), filters, exc)
        messages.error(request, exc.message)
        url = reverse("review:queue", args=[project.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    message = f"Undone on item {event.item_id}: back to {event.to_label.name if event.to_label else 'no label'}."
    if flag is None:
        url = reverse("review:item", args=[event.item_id])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    flag = _get_flag(project, flag.pk)
    if not request.htmx:
        return redirect(reverse("review:flag", args=[project.pk, flag.pk]))
    return _render_flag(request, project, flag, filters=filters, just_done=message)


@login_required
@require_POST
def find_mislabels(request, project_id):
    """Run the mislabel search now (it also runs after every retrain); the job page shows its progress."""
    project, _ = get_project_for_user(request.user, project_id, Role.REVIEWER)
    try:
        job = request_flag_run(project=project, user=request.user)
    except QuorumError as exc:
        messages.error(request, exc.message)
        return redirect("review:queue", project.pk)
    return redirect("projects:job", job.pk)
