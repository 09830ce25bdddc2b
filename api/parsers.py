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
    """A request body to hand to the importer as if it were a file called ``name``: read as the import goes,
    never held whole in memory (a 1,000,000-row body is over 100 MB)."""

    name: str
    stream: io.BufferedIOBase


class _Body(io.RawIOBase):
    """The request's body stream as a raw stream, so io.BufferedReader reads it in large blocks and splits its
    lines in C (the WSGI stream's own readline is Python, called once per line)."""

    def __init__(self, stream):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _body(stream) -> io.BufferedIOBase:
    return io.BufferedReader(_Body(stream), buffer_size=1 << 20) if stream is not None else io.BytesIO(b"")


class JsonLinesParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        return RawUpload("request body.jsonl", _body(stream))


class CsvParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return RawUpload("request body.csv", _body(stream))
