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

    def get_page_size(self, request):
        """`page_size` is an integer from 1 to 1000 (the schema says so); anything else is a 400, not ignored."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"Must be a whole number from 1 to {self.max_page_size}; got {raw[:50]!r}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size,
                                       "default": self.page_size}
        return parameters

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
