"""Parse: read an upload (CSV, JSONL, a zip or a folder of images) into rows, or the problems of each record.

Text: CSV or JSONL with a ``text`` column, an optional ``label`` column; every other column is metadata.
Images: a zip or a folder; a first-level sub-folder name is the given label of the images in it (a single
folder wrapping everything is seen through), and a manifest (CSV or JSONL with a ``file`` column, an
optional ``label``, any other column metadata) gives labels and metadata per image.
Parsing never guesses: CSV is read with the ``csv`` module in strict mode, one physical line at a time, so
every problem names its file, line and column.
The first stage of an import: validate.py checks the rows against the project, write.py writes them.
"""
import csv
import hashlib
import io
import json
import zipfile
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import orjson
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from quorum.lib.errors import ImportRowError, QuorumError

IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")
MAX_TEXT_CHARS = 100_000
MAX_METADATA_KEYS = 200  # per row: a million-column row must not become a million-key item
MAX_VALUE_CHARS = 10_000  # one metadata value (or label, or manifest file name)
MAX_ZIP_RATIO = 200  # larger compression ratios are treated as zip bombs
STREAMING_SUFFIXES = (".csv", ".jsonl", ".ndjson")


@dataclass(slots=True)
class Row:
    line: int | None
    source_name: str
    content_hash: str
    text: str = ""
    image_bytes: bytes | None = None
    image_suffix: str = ""
    label: str | None = None
    metadata: dict = field(default_factory=dict)
    metadata_json: str = "{}"  # ``metadata`` serialized once, for COPY
    label_column: int | None = None  # where the label is, for the unknown-label message
    label_file: str | None = None  # where the label was read from when not the row itself (a manifest) ...
    label_line: int | None = None  # ... and its line there

    def origin(self, name: str) -> str:
        """Where the row came from, in words: "tickets.csv, line 12" or "photos.zip/red/img_3.jpg"."""
        return f"{name}, line {self.line}" if self.line is not None else self.source_name


class UnreadableFile(ImportRowError):
    """One file of an image archive or folder that cannot be imported: a lenient import skips it and lists it."""


@dataclass
class Parsed:
    """What parsing an archive or folder found: rows, problems (some skippable), and notes for the result."""

    rows: list[Row]
    errors: list[ImportRowError]
    notes: list[str] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def loads(data: bytes | str):
    """Parse one JSON document: orjson's speed, the standard library's leniency and error messages.

    orjson refuses a few things ``json`` accepts (NaN, integers over 64 bits, lone surrogates); those fall
    back to ``json`` so the importer accepts and reports exactly what it did before.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers over 64 bits, lone surrogates
        return json.dumps(value)


# ---- the fields of one record ------------------------------------------------------------------------------


class _Fields:
    """Reads the fields of one record, collecting its problems with file, line and column."""

    def __init__(self, name: str, line: int, raw: dict, columns: dict[str, int] | None):
        self.name, self.line, self.raw, self.columns = name, line, raw, columns or {}
        self.errors: list[ImportRowError] = []

    def problem(self, reason: str, key: str | None = None) -> None:
        self.errors.append(ImportRowError(file=self.name, line=self.line, column=self.columns.get(key), reason=reason))

    def string(self, key: str, *, required: bool, limit: int) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                self.problem(f"missing the '{key}' field")
            return None
        if isinstance(value, int) and not isinstance(value, bool) and key == "label":
            value = str(value)
        if not isinstance(value, str):
            self.problem(f"'{key}' must be a string", key)
            return None
        if len(value) > limit:
            self.problem(f"'{key}' is {len(value):,} characters, over the limit of {limit:,}", key)
            return None
        return value

    def label(self) -> str | None:
        label = self.string("label", required=False, limit=MAX_VALUE_CHARS)
        label = label.strip() if label else None
        if label and "\x00" in label:
            self.problem("'label' contains a NUL character", "label")
            return None
        return label or None

    def metadata(self, skip: tuple[str, ...]) -> tuple[dict, str]:
        meta = {k: v for k, v in self.raw.items() if k not in skip}
        if len(meta) > MAX_METADATA_KEYS:
            self.problem(f"{len(meta):,} metadata fields, over the limit of {MAX_METADATA_KEYS}; "
                         "keep the columns you need")
            return {}, "{}"
        for key, value in meta.items():
            if isinstance(value, str):
                size = len(value)
            elif isinstance(value, list | dict):
                size = len(dumps(value))
            else:  # numbers, booleans, null: short
                continue
            if size > MAX_VALUE_CHARS:
                self.problem(f"the value of '{key}' is {size:,} characters, over the limit of "
                             f"{MAX_VALUE_CHARS:,} for a metadata value", key)
        meta_json = dumps(meta) if meta else "{}"
        if "\\u0000" in meta_json:
            self.problem("a metadata field contains a NUL character (\\u0000)")
        return meta, meta_json


def _text_row(name: str, line_no: int, obj: dict, columns: dict[str, int] | None = None) -> "Row | list[ImportRowError]":
    """The row, or the list of what is wrong with it."""
    if (row := _plain_text_row(name, line_no, obj, columns)) is not None:
        return row
    obj, spelling = _named_keys(name, line_no, obj, _NAMED_FIELDS)
    if spelling:
        return spelling
    f = _Fields(name, line_no, obj, columns)
    text = f.string("text", required=True, limit=MAX_TEXT_CHARS)
    if text is not None:
        # PostgreSQL text cannot hold NUL: keep the item, marked with U+FFFD so the data-health check shows it.
        text = text.replace("\x00", "\ufffd")
        if not text or text.isspace():
            f.problem("the text is empty; fill it in or remove the row", "text")
    label = f.label()
    meta, meta_json = f.metadata(("text", "label"))
    if f.errors:
        return f.errors
    return Row(line=line_no, source_name=f"{name}:{line_no}", content_hash=sha256(text.encode()),
               text=text, label=label, metadata=meta, metadata_json=meta_json, label_column=f.columns.get("label"))


def _named_keys(name: str, line_no: int, obj: dict, names: tuple[str, ...]) -> tuple[dict, list[ImportRowError]]:
    """``obj`` with each of ``names`` found however the record wrote it, as ``_named_columns`` reads a CSV header:
    "Text" or "label " is that field when it is the only key that reads so (an export from a tool that
    capitalises its keys keeps its labels, instead of importing them as metadata while the item stays
    unlabelled). Two or more keys that read as one name are a problem; the exact key alone is taken as is."""
    problems = []
    for wanted in names:
        alike = [key for key in obj if key.__class__ is str and _reads_as(key, wanted)]
        if len(alike) == 1 and alike[0] != wanted:
            obj = {(wanted if key == alike[0] else key): value for key, value in obj.items()}
        elif len(alike) > 1:
            problems.append(ImportRowError(file=name, line=line_no, reason=_read_alike(
                "fields", [f"'{key}'" for key in alike], wanted)))
    return obj, problems


def _reads_as(title: str, wanted: str) -> bool:
    """Whether a CSV column title or JSON key names the field ``wanted``: "Label", "LABEL" and "label " do."""
    return title.strip().casefold() == wanted


def _read_alike(what: str, named: list[str], wanted: str) -> str:
    """The problem of two or more columns (or keys) that all read as ``wanted``: which one is meant is not guessed."""
    return (f"the {what} {', '.join(named)} {'both' if len(named) == 2 else 'all'} read as '{wanted}'; keep one of "
            "them, or rename the others")


def _plain_text_row(name: str, line_no: int, obj: dict, columns: dict[str, int] | None) -> Row | None:
    """The row of a record whose every field is plainly fine, or None to read it field by field (``_Fields``).

    The same row ``_text_row`` makes, with one function call instead of a dozen: most records of a large
    upload take this way (issue 18). Anything unusual (a missing, empty, long or non-string value, a NUL, a
    list or object in the metadata) goes the long way, which finds and words its problems.
    """
    text = obj.get("text")
    if text.__class__ is not str or not 0 < len(text) <= MAX_TEXT_CHARS:
        return None
    label = obj.get("label")
    if label is not None:
        if label.__class__ is not str or len(label) > MAX_VALUE_CHARS or "\x00" in label:
            return None
        label = label.strip() or None
    meta = {k: v for k, v in obj.items() if k != "text" and k != "label"}
    meta_json = "{}"
    if meta:
        if len(meta) > MAX_METADATA_KEYS:
            return None
        for key, value in meta.items():
            if key.strip().casefold() in _NAMED_FIELDS:  # _reads_as, inline (every key): "Label" goes the long way
                return None
            if value.__class__ is str:
                if len(value) > MAX_VALUE_CHARS:
                    return None
            elif value.__class__ not in _SCALARS:
                return None
        meta_json = dumps(meta)
        if "\\u0000" in meta_json:
            return None
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if text.isspace():
        return None
    return Row(line=line_no, source_name=f"{name}:{line_no}", content_hash=sha256(text.encode()), text=text,
               label=label, metadata=meta, metadata_json=meta_json,
               label_column=columns.get("label") if columns else None)


_SCALARS = (int, float, bool, type(None))
_NAMED_FIELDS = ("text", "label")


# ---- JSONL -------------------------------------------------------------------------------------------------


def _decode_line(name: str, line_no: int, raw: bytes) -> "str | ImportRowError":
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if line_no == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16's byte-order mark
            return ImportRowError(file=name, line=1, reason=(
                "the file is UTF-16 (as Excel's \"Unicode Text\" saves it), not UTF-8; save it as UTF-8 (in Excel: "
                "\"CSV UTF-8 (Comma delimited)\")"))
        column = len(raw[:exc.start].decode("utf-8", "replace")) + 1
        return ImportRowError(file=name, line=line_no, column=column, reason=(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"))


def iter_jsonl_records(name: str, stream):
    """Yield (line, object) or an ImportRowError per non-empty line, reading line by line (bounded memory)."""
    for line_no, raw_line in enumerate(stream, start=1):
        # The usual line, read by orjson straight from its bytes (it checks the UTF-8 and takes the line end as
        # whitespace); anything it refuses is read again below, for the standard library's reading and words.
        try:
            obj = orjson.loads(raw_line)
        except orjson.JSONDecodeError:
            obj = None
        if obj.__class__ is dict:
            yield line_no, obj
            continue
        if not raw_line.strip():
            continue
        decoded = _decode_line(name, line_no, raw_line.removeprefix(b"\xef\xbb\xbf") if line_no == 1 else raw_line)
        if isinstance(decoded, ImportRowError):
            yield decoded
            continue
        try:
            obj = loads(decoded.rstrip("\r\n"))  # so an error's column is on this line, not the next
        except json.JSONDecodeError as exc:
            yield ImportRowError(file=name, line=line_no, column=exc.colno, reason=f"not valid JSON ({exc.msg})")
            continue
        except RecursionError:
            yield ImportRowError(file=name, line=line_no, reason="JSON nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield ImportRowError(file=name, line=line_no, reason="each line must be a JSON object")
            continue
        column = _lone_surrogate_column(decoded)
        if column is not None:
            yield ImportRowError(file=name, line=line_no, column=column, reason=(
                f"'{decoded[column - 1:column + 5]}' is half of a UTF-16 surrogate pair, not a character, and "
                "cannot be stored; write the character itself (or its full pair of escapes) or remove it"))
            continue
        if (key := _non_finite_key(obj)) is not None:
            yield ImportRowError(file=name, line=line_no, reason=_non_finite_reason(key))
            continue
        yield line_no, obj


def _non_finite_key(obj: dict) -> str | None:
    """The first key of a parsed record whose value (at any depth) is NaN or infinite (``NaN``, ``Infinity``,
    ``1e400``). JSON has no such number: a database refuses it and orjson would write it as null, so it is
    refused rather than lost. Only records orjson refused (JSONL) or the API's JSON arrays can hold one."""
    for key, value in obj.items():
        if isinstance(value, (float, dict, list)):
            try:
                json.dumps(value, allow_nan=False)
            except ValueError:
                return key
    return None


def _non_finite_reason(key: str) -> str:
    return (f"the value of '{key}' is NaN or infinite, which JSON cannot store; write null for a missing value, "
            "or the number in quotes")


def _lone_surrogate_column(line: str) -> int | None:
    """The 1-based column of the first \\uXXXX escape of a surrogate that is not half of a high-low pair, or
    None. JSON's standard library reads one into a string no database or UTF-8 file can hold (orjson refuses
    it, so only lines read the long way can hold one). ``line`` is valid JSON, so every backslash starts an
    escape inside a string."""
    at = line.find("\\")
    while at >= 0:
        if line[at + 1] != "u":
            at = line.find("\\", at + 2)
            continue
        code = int(line[at + 2:at + 6], 16)
        if 0xD800 <= code < 0xDC00 and line[at + 6:at + 8] == "\\u" and 0xDC00 <= int(line[at + 8:at + 12], 16) < 0xE000:
            at = line.find("\\", at + 12)
            continue
        if 0xD800 <= code < 0xE000:
            return at + 1
        at = line.find("\\", at + 6)
    return None


def iter_jsonl(name: str, stream: io.BufferedIOBase):
    """Yield a Row or an ImportRowError per non-empty line, reading the stream line by line (bounded memory)."""
    for record in iter_jsonl_records(name, stream):
        if isinstance(record, ImportRowError):
            yield record
            continue
        r = _text_row(name, record[0], record[1])
        if isinstance(r, Row):
            yield r
        else:
            yield from r


def _rows_of(name: str, record):
    """A parsed record as its Row or its problems."""
    if isinstance(record, ImportRowError):
        yield record
        return
    r = _text_row(name, record[0], record[1], record[2] if len(record) > 2 else None)
    if isinstance(r, Row):
        yield r
    else:
        yield from r


def _collect(results) -> tuple[list[Row], list[ImportRowError]]:
    rows, errors = [], []
    for r in results:
        (rows if isinstance(r, Row) else errors).append(r)
    return rows, errors


def parse_jsonl(name: str, stream: io.BufferedIOBase) -> tuple[list[Row], list[ImportRowError]]:
    return _collect(iter_jsonl(name, stream))


def parse_records(name: str, records: list, *, unit: str = "line") -> tuple[list[Row], list[ImportRowError]]:
    """Rows from an already-parsed JSON array (the API's JSON body, a .json file); "line" is the 1-based position,
    which a problem calls ``unit`` ("record" for a file, whose lines it is not)."""
    rows, errors = [], []

    def problem(i: int, reason: str) -> ImportRowError:
        return ImportRowError(file=name, line=i, reason=reason, unit=unit)

    for i, obj in enumerate(records, start=1):
        if not isinstance(obj, dict):
            errors.append(problem(i, "each entry must be a JSON object"))
            continue
        bad = _surrogate_key(obj)
        if bad is not None:
            errors.append(problem(i, (
                f"the value of '{bad}' holds half of a UTF-16 surrogate pair (an escape from \\ud800 to \\udfff "
                "on its own), which is not a character and cannot be stored; write the character itself or remove it")))
            continue
        if (key := _non_finite_key(obj)) is not None:
            errors.append(problem(i, _non_finite_reason(key)))
            continue
        r = _text_row(name, i, obj)
        if isinstance(r, Row):
            rows.append(r)
        else:
            errors.extend(e if unit == "line" else problem(i, e.reason) for e in r)
    return rows, errors


def parse_json_array(name: str, stream) -> tuple[list[Row], list[ImportRowError]]:
    """A .json file holding one array of records (as many tools export), read whole: the upload size limit
    bounds it. A problem names the record (its position in the array); invalid JSON names line and column."""
    data = stream.read()
    decoded = _decode_line(name, 1, data.removeprefix(b"\xef\xbb\xbf"))
    if isinstance(decoded, ImportRowError):
        return [], [decoded]
    try:
        records = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return [], [ImportRowError(file=name, line=exc.lineno, column=exc.colno, reason=f"not valid JSON ({exc.msg})")]
    except RecursionError:
        return [], [ImportRowError(file=name, line=None, reason="JSON nested too deeply")]
    if not isinstance(records, list):
        return [], [ImportRowError(file=name, line=None, reason=(
            "a .json file must hold one array of records, [{\"text\": ...}, ...]; for one record per line, "
            "name the file .jsonl"))]
    return parse_records(name, records, unit="record")


def _surrogate_key(obj: dict) -> str | None:
    """The first key of an already-parsed record whose key or value (at any depth) holds a lone surrogate."""
    try:
        orjson.dumps(obj)  # refuses lone surrogates (and integers over 64 bits): the usual record passes here
        return None
    except TypeError:
        pass
    for key, value in obj.items():
        try:
            json.dumps({key: value}, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return key.encode("utf-8", "backslashreplace").decode()
    return None


# ---- CSV: the csv module in strict mode, fed one physical line at a time ------------------------------------


class _Lines:
    """The decoded physical lines of a byte stream, for csv.reader, remembering the lines of the current record.

    A line that is not UTF-8 is recorded as a problem (with its column) and handed on with the bad bytes
    replaced, so the record structure survives and the record is refused as a whole. Lines can be pushed back:
    after an unterminated quote the reader starts again on the line after the quote's.
    """

    def __init__(self, name: str, stream):
        self.name = name
        self.raw = iter(stream)
        self.number = 0  # physical lines read from the stream
        self.pushed: deque[tuple[int, str]] = deque()
        self.record: list[tuple[int, str]] = []  # (line number, text) of the record being read
        self.bad: dict[int, ImportRowError] = {}  # undecodable lines not yet behind the reader
        self.reported: set[int] = set()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pushed:
            number, text = self.pushed.popleft()
        else:
            raw = next(self.raw)
            self.number += 1
            number = self.number
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            decoded = _decode_line(self.name, number, raw)
            if isinstance(decoded, ImportRowError):
                self.bad[number] = decoded
                decoded = raw.decode("utf-8", "replace")
            text = decoded
        self.record.append((number, text))
        return text

    def start_record(self) -> None:
        self.record = []

    def first_line(self) -> int:
        return self.record[0][0] if self.record else self.number + 1

    def undecodable(self, *, first_line_only: bool = False) -> tuple[list[ImportRowError], bool]:
        """The decoding problems of the current record's lines not reported yet, and whether it has any."""
        if not self.bad:  # the usual case: nothing to look up
            return [], False
        numbers = [n for n, _ in self.record[:1 if first_line_only else None] if n in self.bad]
        new = [self.bad[n] for n in numbers if n not in self.reported]
        self.reported.update(numbers)
        if self.record:  # lines up to the record's first are never read again: forget them
            first = self.record[0][0]
            for n in [n for n in self.bad if n <= first]:
                del self.bad[n]
                self.reported.discard(n)
        return new, bool(numbers)

    def restart_after_first_line(self) -> None:
        """Read the current record's lines again, but its first one."""
        self.pushed.extendleft(reversed(self.record[1:]))
        self.record = []


_QUOTE_HELP = 'inside a quoted value write a quote as two quotes ("")'


def _quote_problem(name: str, record: list[tuple[int, str]], csv_message: str) -> tuple[ImportRowError, bool]:
    """Where a record's quoting goes wrong, with line and column (csv.Error says only what); and whether the
    lines after the record's first must be read again (a quote left open swallowed them)."""
    state, opened, spanning, broken = "start", None, None, None
    for index, (number, text) in enumerate(record):
        for col, ch in enumerate(text, start=1):
            if state == "start":
                state, opened = ("quoted", (number, col)) if ch == '"' else ("start" if ch in ",\r\n" else "plain", opened)
            elif state == "plain":
                state = "start" if ch in ",\r\n" else "plain"
            elif state == "quoted":
                state = "quote?" if ch == '"' else "quoted"
            elif ch == '"':  # "quote?": a doubled quote inside the value
                state = "quoted"
            elif ch in ",\r\n":
                state = "start"
            else:
                broken = (number, col)
                break
        if broken:
            break
        if index == 0 and state == "quoted":
            spanning = opened  # a quoted value goes on past the record's first line
    if broken and spanning is None:
        return ImportRowError(file=name, line=broken[0], column=broken[1], reason=(
            f"text after the closing quote of a quoted value; {_QUOTE_HELP}")), False
    if broken:
        return ImportRowError(file=name, line=spanning[0], column=spanning[1], reason=(
            f"the quote that opens this value is not closed on its line, and the quoting breaks on line {broken[0]}, "
            f"column {broken[1]}; close the quote, or {_QUOTE_HELP}")), True
    if state == "quoted" and opened is not None:
        if "field larger than field limit" in csv_message:
            reason = (f"the quoted value that starts here is over {csv.field_size_limit():,} characters or its "
                      f"quote is never closed; close it, or {_QUOTE_HELP}")
        else:
            reason = f"the quote that opens this value is never closed; close it, or {_QUOTE_HELP}"
        return ImportRowError(file=name, line=opened[0], column=opened[1], reason=reason), True
    line = record[0][0] if record else None
    lone_cr = next(((n, t.index("\r") + 1) for n, t in record if "\r" in t.rstrip("\r\n")), None)
    if "new-line character seen in unquoted field" in csv_message and lone_cr:
        return ImportRowError(file=name, line=lone_cr[0], column=lone_cr[1], reason=(
            "a carriage return alone ends a line here, as in files saved by old Mac programs, or sits inside a "
            "value; save the file with standard line endings (in Excel: \"CSV UTF-8 (Comma delimited)\"), or put "
            "that value in double quotes")), False
    return ImportRowError(file=name, line=line, reason=f"not valid CSV ({csv_message})"), False


def _swallowed_rows(name: str, record: list[tuple[int, str]], width: int) -> ImportRowError | None:
    """A value over several lines whose inner lines each look like a row of their own: a quote left open
    that a later stray quote happened to close. Refused rather than imported as one long text."""
    inner = [n for n, text in record[1:-1] if _width(text) == width]
    if not inner:
        return None
    first = record[0][0]
    return ImportRowError(file=name, line=first, reason=(
        f"a quoted value runs from line {first} to line {record[-1][0]} and takes in lines that look like rows of "
        f"their own ({', '.join(map(str, inner[:5]))}{', ...' if len(inner) > 5 else ''}); close its quote on line "
        f"{first}, or {_QUOTE_HELP}"))


def _width(text: str) -> int:
    """How many values ``text`` has as a CSV row of its own; 0 when it is no row (e.g. a lone carriage return
    inside it, which the csv module refuses outside quotes)."""
    try:
        return len(next(csv.reader([text]), []))
    except csv.Error:
        return 0


def _named_columns(name: str, header: list[str], names: tuple[str, ...],
                   line: int = 1) -> tuple[list[str], list[ImportRowError]]:
    """``header`` with each of ``names`` (e.g. text, label) found however a spreadsheet wrote it: "Text",
    "LABEL" or "text " names that column when it is the only one that reads so. Two or more that read as the
    same name are a problem (which one holds the labels is not guessed). Other titles stay as written (they
    become metadata keys)."""
    out, problems = list(header), []
    for wanted in names:
        alike = [i for i, title in enumerate(header) if _reads_as(title, wanted)]
        if len(alike) == 1:
            out[alike[0]] = wanted
        elif len({header[i] for i in alike}) > 1:  # the same title twice is reported as such (_header_problems)
            problems.append(ImportRowError(file=name, line=line, column=alike[1] + 1, reason=_read_alike(
                "columns", [f"'{header[i]}' (column {i + 1})" for i in alike], wanted)))
    return out, problems


_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _header_problems(name: str, header: list[str], required: str, optional: tuple[str, ...],
                    line: int = 1) -> list[ImportRowError]:
    problems = []
    if len(header) > MAX_METADATA_KEYS + 1 + len(optional):
        problems.append(ImportRowError(file=name, line=line, reason=(
            f"the header has {len(header):,} columns, over the limit of {MAX_METADATA_KEYS} metadata columns "
            f"besides '{required}' and {', '.join(repr(o) for o in optional)}; keep the columns you need")))
        return problems
    if required not in header:
        other = next((d for d in _DELIMITERS if len(header) == 1 and d in header[0]), None)
        hint = (f"; its values are separated by {_DELIMITERS[other]}, not commas: save the file as comma-separated "
                "CSV (in Excel: \"CSV UTF-8 (Comma delimited)\")" if other else "")
        problems.append(ImportRowError(file=name, line=line, reason=(
            f"the header must have a '{required}' column (it has {', '.join(header) or 'none'}){hint}")))
    seen: set[str] = set()
    for col, title in enumerate(header, start=1):
        if title.strip() and title in seen:  # a column without a name is checked row by row (_unnamed_values)
            problems.append(ImportRowError(file=name, line=line, column=col, reason=f"the column '{title}' appears twice"))
        seen.add(title)
    return problems


def _unnamed_values(name: str, line_no: int, values: list[str], unnamed: list[int]) -> ImportRowError | None:
    """A value in a column whose header has no name. Spreadsheets leave such columns behind (``text,label,,``,
    empty cells once touched); while they stay empty they hold nothing and are left out, but a value there has
    nowhere to go, so it is refused rather than dropped."""
    for i in unnamed:
        if i < len(values) and values[i].strip():
            return ImportRowError(file=name, line=line_no, column=i + 1, reason=(
                f"a value in column {i + 1}, whose header has no name; name the column in the header, or remove "
                "the value"))
    return None


def iter_csv_records(name: str, stream, *, required: str = "text", optional: tuple[str, ...] = ("label",)):
    """Yield (line, {column: value}, {column: number}) or an ImportRowError per CSV record, reading as it goes.

    Every problem is reported, each with its line (the record's first) and column where there is one: a
    record with a problem is refused and the reader goes on with the next one, so one problem never hides
    another. Blank lines are refused, except at the end of the file.
    """
    lines = _Lines(name, stream)
    reader = csv.reader(lines, strict=True)
    header = None
    blank: list[int] = []
    while True:
        lines.start_record()
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problem, unterminated = _quote_problem(name, lines.record, str(exc))
            yield problem
            yield from lines.undecodable(first_line_only=unterminated)[0]  # the other lines are read again
            if header is None:
                return
            if unterminated:
                lines.restart_after_first_line()
            reader = csv.reader(lines, strict=True)
            continue
        line_no = lines.first_line()
        undecodable, refused = lines.undecodable()
        if header is None:
            if line_no == 1 and not refused and (sep := _excel_separator(lines.record)) is not None:
                if sep == ",":
                    continue  # Excel's "sep=," line says what the file already is: the header comes next
                yield ImportRowError(file=name, line=1, reason=(
                    f"the file says its values are separated by '{sep}' (Excel's \"sep=\" line), not commas: save it "
                    "as comma-separated CSV (in Excel: \"CSV UTF-8 (Comma delimited)\")"))
                return
            if refused or not values:
                yield from undecodable or [ImportRowError(file=name, line=line_no, reason=(
                    f"the first line must be the header, with a '{required}' column"))]
                return
            header, problems = _named_columns(name, values, (required, *optional), line_no)
            problems = problems or _header_problems(name, header, required, optional, line_no)
            if problems:
                yield from problems
                return
            unnamed = [i for i, title in enumerate(header) if not title.strip()]
            named = [i for i, title in enumerate(header) if title.strip()]
            columns = {header[i]: i + 1 for i in named}
            continue
        if not values:
            blank.append(line_no)
            continue
        for number in blank:  # blank lines before a record: in the middle of the data
            yield ImportRowError(file=name, line=number, reason="empty line; remove it")
        blank = []
        if unnamed and len(values) < len(header) and all(i in unnamed for i in range(len(values), len(header))):
            values += [""] * (len(header) - len(values))  # only empty columns without a name are missing
        if refused:
            yield from undecodable
        elif len(values) != len(header):
            yield _column_count_problem(name, line_no, values, header)
        elif len(lines.record) > 2 and (swallowed := _swallowed_rows(name, lines.record, len(header))):
            yield swallowed
            lines.restart_after_first_line()
            reader = csv.reader(lines, strict=True)
        elif not unnamed:
            yield line_no, dict(zip(header, values, strict=True)), columns
        elif problem := _unnamed_values(name, line_no, values, unnamed):
            yield problem
        else:
            yield line_no, {header[i]: values[i] for i in named}, columns


def _excel_separator(record: list[tuple[int, str]]) -> str | None:
    """The separator an Excel "sep=" first line names (``sep=,`` or ``sep=;``), or None for any other line."""
    if len(record) != 1:
        return None
    text = record[0][1].rstrip("\r\n")
    return text[4:] if len(text) == 5 and text[:4].lower() == "sep=" else None


def _column_count_problem(name: str, line_no: int, values: list[str], header: list[str]) -> ImportRowError:
    fewer = len(values) < len(header)
    return ImportRowError(file=name, line=line_no, column=len(values) + 1 if fewer else len(header) + 1, reason=(
        f"{len(values):,} values but the header has {len(header):,} columns"
        + (f"; the '{header[len(values)]}' column is missing" if fewer else
           "; put a value that contains a comma in double quotes")))


def iter_csv(name: str, stream: io.BufferedIOBase):
    """Yield a Row or an ImportRowError per CSV record, reading the stream as it goes (bounded memory)."""
    for record in iter_csv_records(name, stream):
        if not isinstance(record, ImportRowError) and record[1].get("label") == "":
            record[1].pop("label")
        yield from _rows_of(name, record)


def parse_csv(name: str, stream: io.BufferedIOBase) -> tuple[list[Row], list[ImportRowError]]:
    return _collect(iter_csv(name, stream))


def iter_text_file(name: str, fh):
    """Rows or problems of a CSV or JSONL file, one record at a time (bounded memory)."""
    return iter_csv(name, fh) if name.lower().endswith(".csv") else iter_jsonl(name, fh)


# ---- images ------------------------------------------------------------------------------------------------


def check_image(name: str, data: bytes) -> str:
    """Return the file suffix for a real raster image; raise UnreadableFile for anything else."""
    max_pixels = settings.QUORUM_MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            if img.width * img.height > max_pixels:
                raise UnreadableFile(file=name, line=None, reason=(
                    f"image is {img.width}x{img.height} pixels, over the {max_pixels:,} pixel limit"))
            img.verify()
    except UnreadableFile:
        raise
    except Image.DecompressionBombError as exc:
        raise UnreadableFile(file=name, line=None, reason=f"image refused as a decompression bomb ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableFile(file=name, line=None, reason="not a readable image (PNG, JPEG, GIF, WebP, BMP or TIFF)") from exc
    if fmt not in IMAGE_FORMATS:
        raise UnreadableFile(file=name, line=None, reason=f"image format {fmt} is not accepted")
    try:
        _decode(data)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableFile(file=name, line=None, reason=(
            f"the {fmt} data is cut short or damaged: it could not be decoded ({exc})")) from exc
    return IMAGE_FORMATS[fmt]


def _decode(data: bytes) -> None:
    """Decode every pixel: ``verify()`` reads only the headers, so a JPEG cut short passes it."""
    with Image.open(io.BytesIO(data)) as img:
        if img.format == "JPEG":  # decoding at 1/8 scale still reads every byte, 20-50x faster on big photos
            img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()


@dataclass
class _Entry:
    """One file of an archive or folder: its path inside it, and how to read it."""

    path: PurePosixPath
    where: str  # how the import result and the item's source name call it
    read: object  # () -> bytes


@dataclass
class _Listed:
    """A manifest's line for one image."""

    line: int
    label: str | None
    label_column: int | None
    metadata: dict
    metadata_json: str


def _wrapper(images: list[PurePosixPath], manifests: list[PurePosixPath]) -> str | None:
    """The one folder that holds everything: label folders inside it (``images/red/1.png``), or the images
    with their manifest (``photos/manifest.csv`` beside ``photos/1.png``)."""
    paths = images + manifests
    tops = {p.parts[0] for p in paths}
    if len(tops) != 1 or any(len(p.parts) < 2 for p in paths):
        return None
    if any(len(p.parts) > 2 for p in images) or any(len(p.parts) == 2 for p in manifests):
        return tops.pop()
    return None


def _manifest(name: str, manifest: _Entry, errors: list) -> dict[str, _Listed]:
    """The manifest's lines by file path (relative to the manifest's folder); problems go to ``errors``."""
    where = manifest.where
    stream = io.BytesIO(manifest.read())
    if manifest.path.suffix.lower() == ".csv":
        records = iter_csv_records(where, stream, required="file", optional=("label",))
    else:
        records = iter_jsonl_records(where, stream)
    listed: dict[str, _Listed] = {}
    for record in records:
        if isinstance(record, ImportRowError):
            errors.append(record)
            continue
        line_no, obj, *columns = record
        f = _Fields(where, line_no, obj, columns[0] if columns else None)
        file = f.string("file", required=True, limit=MAX_VALUE_CHARS)
        label = f.label()
        meta, meta_json = f.metadata(("file", "label"))
        key = str(PurePosixPath(file.strip().lstrip("./"))) if file and file.strip() else None
        if file is not None and key is None:
            f.problem("the file name is empty", "file")
        elif key in listed:
            f.problem(f"'{file}' is listed twice (first on line {listed[key].line})", "file")
        if f.errors:
            errors.extend(f.errors)
            continue
        listed[key] = _Listed(line_no, label, f.columns.get("label"), meta, meta_json)
    return listed


def _image_entries(name: str, entries: list[_Entry], errors: list, notes: list) -> list[Row]:
    """Rows for the readable images among ``entries``; problems go to ``errors``, remarks to ``notes``."""
    images = [e for e in entries if e.path.suffix.lower() not in MANIFEST_SUFFIXES]
    wrapper = _wrapper([e.path for e in images],
                       [e.path for e in entries if e.path.suffix.lower() in MANIFEST_SUFFIXES])
    base = PurePosixPath(wrapper) if wrapper else PurePosixPath()
    tops = (base, PurePosixPath())
    manifests = [e for e in entries if e.path.suffix.lower() in MANIFEST_SUFFIXES and e.path.parent in tops]
    for e in entries:
        if e.path.suffix.lower() in MANIFEST_SUFFIXES and e.path.parent not in tops:
            errors.append(UnreadableFile(file=e.where, line=None, reason=(
                "a manifest must sit at the top of the archive (or of its one folder); this one was not read")))
    if len(manifests) > 1:
        errors.append(ImportRowError(file=name, line=None, reason=(
            f"{len(manifests)} manifests ({', '.join(m.path.name for m in manifests)}); keep one")))
        return []
    listed = _manifest(name, manifests[0], errors) if manifests else {}
    if wrapper:
        used = "its sub-folders were used as labels" if any(len(e.path.parts) > 2 for e in images) else (
            "it was not used as a label")
        notes.append(f"Everything is inside one folder, '{wrapper}/': {used}.")
    rows: list[Row] = []
    for e in images:
        rel = e.path.relative_to(base)
        entry = listed.pop(str(rel), None) or listed.pop(str(e.path), None)
        label = entry.label if entry and entry.label else (rel.parts[0] if len(rel.parts) > 1 else None)
        if e.path.suffix.lower() not in IMAGE_SUFFIXES:
            errors.append(UnreadableFile(file=e.where, line=None, reason=(
                f"'{e.path.suffix or 'no extension'}' is not an image type")))
            continue
        data = e.read()
        try:
            suffix = check_image(e.where, data)
        except UnreadableFile as exc:
            errors.append(exc)
            continue
        row = Row(line=None, source_name=e.where, content_hash=sha256(data), image_bytes=data, image_suffix=suffix,
                  label=label)
        if entry:
            row.metadata, row.metadata_json = entry.metadata, entry.metadata_json
            if entry.label:
                row.label_file, row.label_line, row.label_column = manifests[0].where, entry.line, entry.label_column
        rows.append(row)
    for path, entry in listed.items():
        errors.append(UnreadableFile(file=manifests[0].where, line=entry.line, reason=(
            f"'{path}' is listed but is not in the {'archive' if name.lower().endswith('.zip') else 'folder'}")))
    if manifests:
        notes.append(f"Labels and metadata were read from the manifest {manifests[0].path.name}.")
    return rows


def _unsafe(info: zipfile.ZipInfo) -> bool:
    entry = PurePosixPath(info.filename)
    return entry.is_absolute() or ".." in entry.parts or "\\" in info.filename or ":" in info.filename


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _zip_reader(name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    def read() -> bytes:
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise QuorumError(f"{name} is damaged: {info.filename} cannot be read ({exc}). Nothing was imported; "
                              "make the archive again (or check it with 'unzip -t') and upload it again.") from exc
    return read


def parse_archive(name: str, path_or_file) -> Parsed:
    """Rows of every readable image of a zip; unreadable files are UnreadableFile problems (skippable).

    A damaged archive (bad CRC, truncated) raises QuorumError: an archive that lies about one file cannot be
    trusted for the others.
    """
    try:
        archive = zipfile.ZipFile(path_or_file)
    except (zipfile.BadZipFile, OSError) as exc:
        return Parsed([], [ImportRowError(file=name, line=None, reason=f"not a valid zip archive ({exc})")])
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        compressed = sum(i.compress_size for i in infos) or 1
        limit = settings.QUORUM_MAX_UPLOAD_BYTES * 4
        if total > limit or total / compressed > MAX_ZIP_RATIO:
            return Parsed([], [ImportRowError(file=name, line=None, reason=(
                f"archive expands to {total:,} bytes (ratio {total / compressed:.0f}:1): refused as a possible zip bomb"))])
        errors: list[ImportRowError] = []
        entries = []
        for info in infos:
            where = f"{name}/{info.filename}"
            if _unsafe(info):
                errors.append(UnreadableFile(file=where, line=None, reason="unsafe path in archive (absolute or '..')"))
                continue
            parts = tuple(p for p in PurePosixPath(info.filename).parts if p)
            if not _hidden(parts):
                entries.append(_Entry(PurePosixPath(*parts), where, _zip_reader(name, archive, info)))
        notes: list[str] = []
        rows = _image_entries(name, entries, errors, notes)
    return Parsed(rows, errors, notes)


def parse_zip(name: str, path_or_file) -> tuple[list[Row], list[ImportRowError]]:
    parsed = parse_archive(name, path_or_file)
    return parsed.rows, parsed.errors


def parse_image_folder(folder: Path) -> Parsed:
    """Rows of every readable image under ``folder``; a manifest may sit inside it or next to it (``folder.csv``).

    Items are named from the folder down (``photos/red/a.jpg``), not by where the folder sits on the server.
    """
    entries = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not _hidden(rel.parts):
            entries.append(_Entry(PurePosixPath(*rel.parts), f"{folder.name}/{rel.as_posix()}", path.read_bytes))
    beside = [folder.with_name(folder.name + s) for s in MANIFEST_SUFFIXES]
    for manifest in (p for p in beside if p.is_file()):
        entries.append(_Entry(PurePosixPath(manifest.name), manifest.name, manifest.read_bytes))
    errors: list[ImportRowError] = []
    notes: list[str] = []
    rows = _image_entries(folder.name, entries, errors, notes)
    return Parsed(rows, errors, notes)


def parse_folder(folder: Path) -> tuple[list[Row], list[ImportRowError]]:
    parsed = parse_image_folder(folder)
    return parsed.rows, parsed.errors


def parse_upload(name: str, fileobj) -> tuple[list[Row], list[ImportRowError]]:
    """Dispatch on the file name's extension."""
    lower = name.lower()
    if lower.endswith(".jsonl") or lower.endswith(".ndjson"):
        return parse_jsonl(name, fileobj)
    if lower.endswith(".csv"):
        return parse_csv(name, fileobj)
    if lower.endswith(".json"):
        return parse_json_array(name, fileobj)
    if lower.endswith(".zip"):
        return parse_zip(name, fileobj)
    raise QuorumError(f"{name}: unsupported file type; {FILE_TYPES}.")


FILE_TYPES = "upload .csv, .jsonl or .json for text, .zip for images"
