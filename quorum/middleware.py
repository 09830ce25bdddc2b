"""Request guards: refuse oversized uploads at once, answer 503 (not a stack trace) when the database is down,
and the login lockout page (the throttle itself is django-axes)."""
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def error_response(request, *, status: int, code: str, message: str, title: str):
    """The API's error shape for /api/, a small self-contained page (no database needed) for the rest."""
    if _wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message, "details": None}}, status=status)
    html = render_to_string("errors/plain.html", {"title": title, "message": message, "status": status})
    return HttpResponse(html, status=status)


class UploadLimitMiddleware:
    """HTTP 413 from the Content-Length header, before any byte of an oversized body is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.QUORUM_MAX_UPLOAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            mb = limit / (1024 * 1024)
            return error_response(
                request, status=413, code="too_large", title="File too large",
                message=(f"The upload is {length / (1024 * 1024):,.1f} MB; the limit is {mb:,.0f} MB "
                         "(QUORUM_MAX_UPLOAD_MB). Split the file into smaller parts and import them one by one."))
        return self.get_response(request)


def database_unavailable(request):
    log.error("database unavailable while serving %s", request.path, exc_info=True)
    # No reconnect here: Django closes an unusable connection when the request ends (close_old_connections),
    # so the next request opens a fresh one and the app recovers by itself.
    response = error_response(
        request, status=503, code="database_unavailable", title="Quorum is briefly unavailable",
        message="The database cannot be reached right now. Nothing you saved is lost; try again in a minute.")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A lost database connection in a view becomes a clear 503 (see also quorum.errors.server_error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request)
        return None


def login_username(request, credentials) -> str:
    """The user name a login counts against (django-axes): as the login form sees it, case-folded and trimmed."""
    data = credentials or request.POST
    return (data.get("username") or "").strip().casefold()


def login_locked_out(request, original_response=None, credentials=None):
    """Every login form's answer once django-axes locks a user name out from an address: 429, a clear message."""
    minutes = settings.QUORUM_LOGIN_WINDOW_SECONDS // 60
    response = error_response(
        request, status=429, code="too_many_attempts", title="Too many failed logins",
        message=f"Too many failed logins for this user name from your address. Wait {minutes} minutes and try "
                "again, or ask a manager to reset your password.")
    response["Retry-After"] = str(settings.QUORUM_LOGIN_WINDOW_SECONDS)
    return response
