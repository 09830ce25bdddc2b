"""One error shape for every API error: {"error": {"code", "message", "details"}}."""
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from quorum.lib.errors import ImportErrors, QuorumError


def exception_handler(exc, context):
    if isinstance(exc, QuorumError):
        details = getattr(exc, "details", None)
        if isinstance(exc, ImportErrors):
            # the column too where the problem has one (a CSV cell, the character of a JSON line)
            details = [{"file": e.file, "line": e.line, **({"column": e.column} if e.column is not None else {}),
                        "reason": e.reason} for e in exc.errors[:1000]]
        return Response({"error": {"code": exc.code, "message": exc.message, "details": details}}, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "Permission denied.")
    response = drf_handler(exc, context)
    if response is None:
        return None
    data = response.data
    message = data.get("detail") if isinstance(data, dict) and "detail" in data else "Invalid input."
    details = None if isinstance(data, dict) and set(data) == {"detail"} else data
    code = getattr(exc, "default_code", "error")
    response.data = {"error": {"code": code, "message": str(message), "details": details}}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response
