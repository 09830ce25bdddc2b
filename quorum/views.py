"""The 403 and 404 pages: the site layout, the reason the server knows, and the way back."""
import re

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from core.access import get_membership

PROJECT_PATH = re.compile(r"^/projects/(\d+)/")


def _reason(exception, default: str) -> str:
    """The message a view raised with (Http404("No such flag"), PermissionDenied("This needs ...")), if any."""
    args = getattr(exception, "args", ())
    text = args[0] if args and isinstance(args[0], str) else ""
    return text.strip() or default


def _ways_back(request) -> list[dict]:
    """Links out of the dead end: the project the URL is in (when the user is a member), then all projects."""
    links = []
    match = PROJECT_PATH.match(request.path)
    if match and request.user.is_authenticated:
        membership = get_membership(request.user, int(match.group(1)))
        if membership is not None:
            links.append({"href": reverse("projects:project", args=[membership.project_id]),
                          "text": f"Back to {membership.project.name}"})
    links.append({"href": reverse("projects:projects"), "text": "All your projects"})
    return links


def _error_page(request, *, status: int, code: str, title: str, reason: str, hint: str):
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": {"code": code, "message": reason, "details": None}}, status=status)
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render(request, template, {"title": title, "reason": reason, "hint": hint, "status": status,
                                      "links": _ways_back(request)}, status=status)


def permission_denied(request, exception=None):
    return _error_page(request, status=403, code="permission_denied", title="You cannot open this page",
                       reason=_reason(exception, "Your account is not allowed to do this."),
                       hint="Ask a manager of the project to give you the role it needs.")


def page_not_found(request, exception=None):
    return _error_page(request, status=404, code="not_found", title="Page not found",
                       reason=_reason(exception, "There is nothing at this address."),
                       hint="It may have been deleted, or it belongs to a project you are not a member of.")
