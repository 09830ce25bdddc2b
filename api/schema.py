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


def document_limits(result, generator, request, public):
    """Statuses every operation of a kind can give, whatever its view: 400 for a bad cursor, page size or body;
    413 from the upload limit (any request with a body, quorum.middleware.UploadLimitMiddleware); 414 from the
    web server for a URL over 4094 bytes."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            paged = any(p.get("name") == "cursor" for p in operation.get("parameters", []))
            if paged or "requestBody" in operation:  # a forged cursor, a bad page_size, a malformed body
                responses.setdefault("400", {"description": "Invalid input; `details` says what and where.",
                                             "content": {"application/json": {"schema": {
                                                 "$ref": "#/components/schemas/ErrorResponse"}}}})
            if "requestBody" in operation:
                responses.setdefault("413", {
                    "description": "The body is larger than QUORUM_MAX_UPLOAD_MB; nothing was read.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}})
            responses.setdefault("414", {"description": "The URL is longer than the web server accepts (4094 "
                                                        "bytes with gunicorn); send fewer or shorter parameters."})
    return result
