"""Parse: read an upload (CSV, JSONL, a zip or a folder of images) into rows, or the problems of each record.

Text: CSV or JSONL with a ``text`` column, an optional ``label`` column; every other column is metadata.
Images: a zip or a folder; a first-level sub-folder name is the given label of the images in it.
The first stage of an import: validate.py checks the rows against the project, write.py writes them.
"""
import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import orjson
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from quorum.lib.errors import ImportRowError, QuorumError

IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
MAX_TEXT_CHARS = 100_000
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


def _metadata(name: str, line: int, raw: dict, errors: list) -> tuple[str | None, str | None, dict, str]:
    text = raw.get("text")
    if text is None:
        errors.append(ImportRowError(file=name, line=line, reason="missing the 'text' field"))
        return None, None, {}, "{}"
    if not isinstance(text, str):
        errors.append(ImportRowError(file=name, line=line, reason="'text' must be a string"))
        return None, None, {}, "{}"
    # PostgreSQL text cannot hold NUL: keep the item, marked with U+FFFD so the data-health check shows it.
    text = text.replace("\x00", "\ufffd")
    if len(text) > MAX_TEXT_CHARS:
        errors.append(ImportRowError(file=name, line=line, reason=f"text longer than {MAX_TEXT_CHARS} characters"))
    label = raw.get("label")
    if label is not None and not isinstance(label, str | int):
        errors.append(ImportRowError(file=name, line=line, reason="'label' must be a string"))
        label = None
    label = str(label).strip() if label not in (None, "") else None
    meta = {k: v for k, v in raw.items() if k not in ("text", "label")}
    meta_json = dumps(meta) if meta else "{}"
    if "\\u0000" in meta_json:
        errors.append(ImportRowError(file=name, line=line, reason="a metadata field contains a NUL character (\\u0000)"))
    if label is not None and "\x00" in label:
        errors.append(ImportRowError(file=name, line=line, reason="'label' contains a NUL character"))
    return text, label, meta, meta_json


def iter_jsonl(name: str, stream: io.BufferedIOBase):
    """Yield a Row or an ImportRowError per non-empty line, reading the stream line by line (bounded memory)."""
    for line_no, raw_line in enumerate(stream, start=1):
        if not raw_line.strip():
            continue
        try:
            obj = loads(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            yield ImportRowError(file=name, line=line_no, reason="not valid UTF-8; save the file as UTF-8")
            continue
        except json.JSONDecodeError as exc:
            yield ImportRowError(file=name, line=line_no, reason=f"not valid JSON ({exc.msg})")
            continue
        except RecursionError:
            yield ImportRowError(file=name, line=line_no, reason="JSON nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield ImportRowError(file=name, line=line_no, reason="each line must be a JSON object")
            continue
        r = _text_row(name, line_no, obj)
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


def _text_row(name, line_no, obj) -> "Row | list[ImportRowError]":
    """The row, or the list of what is wrong with it."""
    errors: list[ImportRowError] = []
    text, label, meta, meta_json = _metadata(name, line_no, obj, errors)
    if errors:
        return errors
    return Row(line=line_no, source_name=f"{name}:{line_no}", content_hash=sha256(text.encode()),
               text=text, label=label, metadata=meta, metadata_json=meta_json)


def _append_text_row(rows, errors, name, line_no, obj):
    r = _text_row(name, line_no, obj)
    if isinstance(r, Row):
        rows.append(r)
    else:
        errors.extend(r)


def parse_records(name: str, records: list) -> tuple[list[Row], list[ImportRowError]]:
    """Rows from an already-parsed JSON array (the API's JSON body); "line" is the 1-based position."""
    rows, errors = [], []
    for i, obj in enumerate(records, start=1):
        if not isinstance(obj, dict):
            errors.append(ImportRowError(file=name, line=i, reason="each entry must be a JSON object"))
            continue
        _append_text_row(rows, errors, name, i, obj)
    return rows, errors


def iter_csv(name: str, stream: io.BufferedIOBase):
    """Yield a Row or an ImportRowError per CSV record, reading the stream as it goes (bounded memory)."""
    text_stream = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        reader = csv.DictReader(text_stream)
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            yield ImportRowError(file=name, line=1, reason="the header must have a 'text' column")
            return
        for record in reader:
            line_no = reader.line_num
            if None in record:
                yield ImportRowError(file=name, line=line_no, reason="more values than header columns")
                continue
            obj = {k: v for k, v in record.items() if k is not None}
            if obj.get("label") == "":
                obj.pop("label")
            r = _text_row(name, line_no, obj)
            if isinstance(r, Row):
                yield r
            else:
                yield from r
    except UnicodeDecodeError:
        yield ImportRowError(file=name, line=None, reason="not valid UTF-8; save the file as UTF-8")
    except csv.Error as exc:
        yield ImportRowError(file=name, line=None, reason=f"not valid CSV ({exc})")
    finally:
        text_stream.detach()


def parse_csv(name: str, stream: io.BufferedIOBase) -> tuple[list[Row], list[ImportRowError]]:
    return _collect(iter_csv(name, stream))


def check_image(name: str, data: bytes) -> str:
    """Return the file suffix for a real raster image; raise ImportRowError for anything else."""
    max_pixels = settings.QUORUM_MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            if img.width * img.height > max_pixels:
                raise ImportRowError(file=name, line=None, reason=(
                    f"image is {img.width}x{img.height} pixels, over the {max_pixels:,} pixel limit"))
            img.verify()
    except ImportRowError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImportRowError(file=name, line=None, reason=f"image refused as a decompression bomb ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImportRowError(file=name, line=None, reason="not a readable image (PNG, JPEG, GIF, WebP, BMP or TIFF)") from exc
    if fmt not in IMAGE_FORMATS:
        raise ImportRowError(file=name, line=None, reason=f"image format {fmt} is not accepted")
    return IMAGE_FORMATS[fmt]


def _image_row(name: str, label: str | None, data: bytes, errors: list) -> Row | None:
    try:
        suffix = check_image(name, data)
    except ImportRowError as exc:
        errors.append(exc)
        return None
    return Row(line=None, source_name=name, content_hash=sha256(data), image_bytes=data, image_suffix=suffix,
               label=label)


def _label_from_parts(parts: tuple[str, ...]) -> str | None:
    return parts[0] if len(parts) > 1 else None


def parse_zip(name: str, path_or_file) -> tuple[list[Row], list[ImportRowError]]:
    rows, errors = [], []
    try:
        archive = zipfile.ZipFile(path_or_file)
    except zipfile.BadZipFile:
        return [], [ImportRowError(file=name, line=None, reason="not a valid zip archive")]
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        compressed = sum(i.compress_size for i in infos) or 1
        limit = settings.QUORUM_MAX_UPLOAD_BYTES * 4
        if total > limit or total / compressed > MAX_ZIP_RATIO:
            return [], [ImportRowError(file=name, line=None, reason=(
                f"archive expands to {total:,} bytes (ratio {total / compressed:.0f}:1): refused as a possible zip bomb"))]
        for info in infos:
            entry = PurePosixPath(info.filename)
            where = f"{name}/{info.filename}"
            if entry.is_absolute() or ".." in entry.parts or "\\" in info.filename or ":" in info.filename:
                errors.append(ImportRowError(file=where, line=None, reason="unsafe path in archive (absolute or '..')"))
                continue
            parts = tuple(p for p in entry.parts if p)
            if any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            if entry.suffix.lower() not in IMAGE_SUFFIXES:
                errors.append(ImportRowError(file=where, line=None, reason=(
                    f"'{entry.suffix or 'no extension'}' is not an image type; remove it from the archive")))
                continue
            row = _image_row(where, _label_from_parts(parts), archive.read(info), errors)
            if row:
                rows.append(row)
    return rows, errors


def parse_folder(folder: Path) -> tuple[list[Row], list[ImportRowError]]:
    rows, errors = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(folder).parts):
            continue
        rel = path.relative_to(folder).parts
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            errors.append(ImportRowError(file=str(path), line=None, reason="not an image file; remove it or import only images"))
            continue
        row = _image_row(str(path), _label_from_parts(rel), path.read_bytes(), errors)
        if row:
            rows.append(row)
    return rows, errors


def parse_upload(name: str, fileobj) -> tuple[list[Row], list[ImportRowError]]:
    """Dispatch on the file name's extension."""
    lower = name.lower()
    if lower.endswith(".jsonl") or lower.endswith(".ndjson"):
        return parse_jsonl(name, fileobj)
    if lower.endswith(".csv"):
        return parse_csv(name, fileobj)
    if lower.endswith(".zip"):
        return parse_zip(name, fileobj)
    raise QuorumError(f"{name}: unsupported file type; upload .csv or .jsonl for text, .zip for images.")


def iter_text_file(name: str, fh):
    """Rows or problems of a CSV or JSONL file, one record at a time (bounded memory)."""
    return iter_csv(name, fh) if name.lower().endswith(".csv") else iter_jsonl(name, fh)
