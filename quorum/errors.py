"""The 500 handler: a database outage outside a view (session, middleware) still gets the 503 answer."""
import sys

from .middleware import DATABASE_ERRORS, database_unavailable, error_response


def server_error(request):
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(request)
    return error_response(request, status=500, code="server_error", title="Something went wrong",
                          message="An unexpected error happened; it has been logged. Try again, or tell your admin.")
