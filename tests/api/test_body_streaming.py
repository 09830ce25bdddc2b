"""A JSONL or CSV import body is read as the import goes, in large blocks, never held whole in memory."""
import io

from api.parsers import CsvParser, JsonLinesParser


class CountingStream:
    """A request body stream that records how much was read, and in what sizes."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.sizes: list[int] = []

    def read(self, size=-1):
        chunk = self._data.read(size)
        self.sizes.append(len(chunk))
        return chunk

    @property
    def consumed(self) -> int:
        return sum(self.sizes)


BODY = b"".join(b'{"text": "row %d"}\n' % n for n in range(200_000))  # ~4 MB


def test_a_jsonl_body_is_not_read_before_the_import_reads_it_and_then_in_blocks():
    stream = CountingStream(BODY)
    upload = JsonLinesParser().parse(stream)
    assert stream.consumed == 0  # the old parser read the whole body here
    assert next(iter(upload.stream)) == b'{"text": "row 0"}\n'
    assert 0 < stream.consumed <= 1 << 20  # one block, not the whole body
    rest = list(upload.stream)
    assert len(rest) == 199_999 and rest[-1] == b'{"text": "row 199999"}\n'
    assert stream.consumed == len(BODY) and max(stream.sizes) <= 1 << 20


def test_a_csv_body_streams_the_same_and_an_empty_body_is_an_empty_file():
    stream = CountingStream(b"text,label\nhello,pos\n")
    upload = CsvParser().parse(stream)
    assert upload.name == "request body.csv" and stream.consumed == 0
    assert list(upload.stream) == [b"text,label\n", b"hello,pos\n"]
    assert JsonLinesParser().parse(None).stream.read() == b""
