"""Cursor pagination over the primary key: stable under inserts and fast at any depth."""
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

MAX_ID = 2**63 - 1
BAD_CURSOR = ("Invalid cursor: use the `next` or `previous` link of a page as it is, or leave `cursor` out "
              "to start at the first page.")


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request):
        """A cursor we did not write (bad base64, or a position that is not an id) is a 400, never a 500."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({"cursor": [BAD_CURSOR]}) from exc
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except ValueError:
                position = -1
            if not 0 <= position <= MAX_ID:
                raise ValidationError({"cursor": [BAD_CURSOR]})
        return cursor
