"""Request body parsers: JSON with a nesting limit; raw JSONL and CSV bodies for bulk imports (one pass)."""
import io
from dataclasses import dataclass

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

MAX_DEPTH = 64


def _depth_exceeds(value, limit: int) -> bool:
    """Whether lists and objects nest deeper than ``limit`` (iterative: no recursion of our own)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JsonParser(JSONParser):
    """DRF's JSON parser, with a nesting limit: a deeply nested body is a 400, not a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested too deeply (at most {MAX_DEPTH} levels).") from exc
        if _depth_exceeds(data, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested too deeply (at most {MAX_DEPTH} levels).")
        return data


@dataclass
class RawUpload:
    """A request body to hand to data.parse.parse_upload as if it were a file called ``name``."""

    name: str
    stream: io.BytesIO


class JsonLinesParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        return RawUpload("request body.jsonl", io.BytesIO(stream.read() if stream else b""))


class CsvParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return RawUpload("request body.csv", io.BytesIO(stream.read() if stream else b""))
