"""Model fields with a storage that differs from what Python and the API see."""
from django.db import models


class Sha256Field(models.CharField):
    """A SHA-256 digest: its 64 hex digits in Python, forms and the API; its 32 bytes in the database.

    The bytes (bytea on PostgreSQL, BLOB on SQLite) make an index entry on (project, digest) ~35% smaller than
    the hex text, and compare with memcmp instead of the collation: the unique index on an item's content was
    ~40% of PostgreSQL's work in a large import (issue 18). Equality and order are the hex string's (lower-case
    hex sorts like its bytes), so lookups (exact, in, gt) and order_by read as before. Raw SQL and COPY must
    send bytes (COPY text format: ``\\\\x`` and the hex).
    """

    description = "SHA-256 digest (hex in Python, 32 bytes stored)"

    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = 64
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["max_length"]
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "BinaryField"

    def db_type(self, connection) -> str:
        return connection.data_types["BinaryField"]

    def from_db_value(self, value, expression, connection):
        return None if value is None else bytes(value).hex()

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        return None if value is None else digest_bytes(value)


def digest_bytes(hex_digest: str) -> bytes:
    """The 32 bytes of a SHA-256 given as 64 hex digits; ValueError (saying so) for anything else."""
    try:
        raw = bytes.fromhex(hex_digest)
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"a content hash is a SHA-256 in 64 hex digits, not {hex_digest!r}")
    return raw
