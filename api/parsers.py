"""Raw JSONL and CSV request bodies for bulk imports: no multipart encoding, one pass over the bytes."""
import io
from dataclasses import dataclass

from rest_framework.parsers import BaseParser


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
