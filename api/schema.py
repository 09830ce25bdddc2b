"""Shared pieces of the OpenAPI description: the error responses every endpoint can give."""
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from .serializers import ErrorResponseSerializer


def _error(description: str, code: str, message: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorResponseSerializer, description=description, examples=[OpenApiExample(
        code, value={"error": {"code": code, "message": message, "details": None}}, response_only=True)])


BAD_REQUEST = {400: _error("Invalid input; `details` says what and where.", "invalid", "Unknown class(es) cat.")}
AUTH = {401: _error("No token, or a revoked one.", "not_authenticated", "Authentication credentials were not provided.")}
FORBIDDEN = {403: _error("Your role in the project is too low.", "permission_denied", "This needs the manager role in Reviews.")}
NOT_FOUND = {404: _error("No such object, or you are not a member of its project.", "not_found", "No such project")}
CONFLICT = {409: _error("The name is taken, or the change would leave the project without a manager.",
                        "conflict", "Project Reviews already has a version named 'v1'; pick another name.")}
READ = {**BAD_REQUEST, **AUTH, **FORBIDDEN, **NOT_FOUND}
WRITE = {**READ, **CONFLICT}
