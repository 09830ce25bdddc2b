"""Importers: parse and validate a whole upload first, then write it in one transaction.

Text: CSV or JSONL with a ``text`` column, an optional ``label`` column; every other column is metadata.
Images: a zip or a folder; a first-level sub-folder name is the given label of the images in it.
"""
import csv
import gc
import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import orjson
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from core.models import Item, Label, LabelEvent, Project
from core.models.item import item_upload_to
from core.services import labels_set
from data import copy_insert
from quorum.lib.errors import ImportErrors, ImportRowError, QuorumError

IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
MAX_TEXT_CHARS = 100_000
MAX_ZIP_RATIO = 200  # larger compression ratios are treated as zip bombs
BATCH = 2000


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


@dataclass
class ImportResult:
    created: int
    duplicates: int
    labels_created: list[str]

    def as_dict(self) -> dict:
        return {"created": self.created, "duplicates": self.duplicates, "labels_created": self.labels_created}


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


def _check_kind(project: Project, rows: list[Row], name: str) -> None:
    wants_image = project.is_image
    if rows and wants_image != (rows[0].image_bytes is not None):
        kind = "images (a .zip or folder)" if wants_image else "text (.csv or .jsonl)"
        raise QuorumError(f"{name}: this is a {project.get_kind_display()} project; import {kind}.")


def _resolve_labels(project: Project, rows: list[Row], name: str) -> tuple[dict[str, Label], list[str]]:
    labels = {lab.name: lab for lab in project.labels.all()}
    wanted = sorted({r.label for r in rows if r.label is not None})
    unknown = [w for w in wanted if w not in labels]
    if unknown and labels:
        errors = []
        for r in rows:
            if r.label in unknown:
                errors.append(ImportRowError(file=r.source_name if r.line is None else name, line=r.line,
                    reason=f"label '{r.label}' is not in this project's labels ({', '.join(labels)}); "
                           "add it to the project or fix the row"))
        raise ImportErrors(errors)
    created = []
    if unknown:  # a project without labels takes them from its first import
        for lab in labels_set(project=project, names=unknown):
            labels[lab.name] = lab
        created = unknown
    return labels, created


def import_rows(*, project: Project, rows: list[Row], errors: list[ImportRowError], name: str,
                queue_given: bool = False, on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Write validated rows in one transaction; any error means nothing is written.

    Items with a given label become labeled (source ``given``) and skip the queue unless ``queue_given``.
    Duplicates (same content hash, in the upload or already in the project) are skipped and counted.
    """
    if errors:
        raise ImportErrors(errors)
    if not rows:
        raise QuorumError(f"{name}: no items found.")
    _check_kind(project, rows, name)
    with transaction.atomic():
        labels, created_labels = _resolve_labels(project, rows, name)
        unique, duplicates = _dedupe(project, rows)
        if copy_insert.available(unique):  # PostgreSQL and text: COPY, 10x faster than bulk_create
            copy_insert.copy_items(project=project, rows=unique, labels=labels, queue_given=queue_given, name=name,
                                   on_progress=on_progress)
            return ImportResult(created=len(unique), duplicates=duplicates, labels_created=created_labels)
        rng = random.Random()
        written: list[str] = []
        try:
            for start in range(0, len(unique), BATCH):
                batch = unique[start:start + BATCH]
                items = [_new_item(project, r, labels, queue_given, rng, written) for r in batch]
                Item.objects.bulk_create(items)
                LabelEvent.objects.bulk_create([
                    LabelEvent(project=project, item=it, source="given", to_label=it.final_label,
                               reason=f"given label in {name}", cause="import")
                    for it in items if it.final_label is not None])
                if on_progress:
                    on_progress(start + len(batch), len(unique))
        except Exception:
            for path in written:  # the rows roll back; do not leave their files behind
                default_storage.delete(path)
            raise
    return ImportResult(created=len(unique), duplicates=duplicates, labels_created=created_labels)


def _dedupe(project: Project, rows: list[Row]) -> tuple[list[Row], int]:
    seen: set[str] = set()
    hashes = [r.content_hash for r in rows]
    if Item.objects.filter(project=project).exists():  # a first import has nothing to compare with
        for start in range(0, len(hashes), 5000):
            seen.update(Item.objects.filter(project=project, content_hash__in=hashes[start:start + 5000])
                        .values_list("content_hash", flat=True))
    unique = _new_rows(rows, seen)
    return unique, len(rows) - len(unique)


def _new_rows(rows: list[Row], seen: set[str]) -> list[Row]:
    """The rows whose content is not in ``seen`` (hashes already in the project), first of each; fills ``seen``."""
    unique = []
    for r in rows:
        if r.content_hash not in seen:
            seen.add(r.content_hash)
            unique.append(r)
    return unique


def _new_item(project, row: Row, labels, queue_given, rng, written) -> Item:
    given = labels.get(row.label) if row.label else None
    item = Item(project=project, text=row.text, source_name=row.source_name[:500], metadata=row.metadata,
                content_hash=row.content_hash, given_label=given, priority=rng.random(),
                needed=project.overlap if (given is None or queue_given) else 0)
    if given is not None:
        item.final_label, item.final_source = given, "given"
    if row.image_bytes is not None:
        path = default_storage.save(item_upload_to(item, "x" + row.image_suffix), ContentFile(row.image_bytes))
        written.append(path)
        item.image.name = path
    return item


# ---- Streaming import of large text files: a validation pass, then a write pass, in bounded memory ----------

MAX_ERRORS_KEPT = 1000
STREAMING_SUFFIXES = (".csv", ".jsonl", ".ndjson")


def _iter_text_file(name: str, fh):
    return iter_csv(name, fh) if name.lower().endswith(".csv") else iter_jsonl(name, fh)


@dataclass
class _Scan:
    rows: int = 0
    errors: list = field(default_factory=list)
    error_count: int = 0
    label_lines: dict = field(default_factory=dict)  # label -> first few line numbers that use it


def _scan(name: str, path: Path) -> _Scan:
    scan = _Scan()
    with path.open("rb") as fh:
        for r in _iter_text_file(name, fh):
            if isinstance(r, ImportRowError):
                scan.error_count += 1
                if len(scan.errors) < MAX_ERRORS_KEPT:
                    scan.errors.append(r)
                continue
            scan.rows += 1
            if r.label is not None:
                lines = scan.label_lines.setdefault(r.label, [])
                if len(lines) < ImportErrors.MAX_SHOWN:
                    lines.append(r.line)
    return scan


def _stream_labels(project: Project, scan: _Scan, name: str) -> tuple[dict[str, Label], list[str]]:
    labels = {lab.name: lab for lab in project.labels.all()}
    unknown = sorted(w for w in scan.label_lines if w not in labels)
    if unknown and labels:
        raise ImportErrors([
            ImportRowError(file=name, line=line, reason=(
                f"label '{w}' is not in this project's labels ({', '.join(labels)}); add it to the project or fix the row"))
            for w in unknown for line in scan.label_lines[w]])
    if unknown:
        for lab in labels_set(project=project, names=unknown):
            labels[lab.name] = lab
    return labels, unknown


def import_text_file(*, project: Project, path: Path, name: str, queue_given: bool = False,
                     on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a CSV or JSONL file of any size: validate it all first, then write it in one transaction.

    Memory stays bounded (one batch of rows at a time), and the cost per batch does not depend on how many
    items the project holds: duplicates are found with one indexed lookup of the batch's hashes (rows of
    earlier batches are already in the table, inside the same transaction).
    """
    if project.is_image:
        raise QuorumError(f"{name}: this is a {project.get_kind_display()} project; import images (a .zip or folder).")
    scan = _scan(name, path)
    if scan.error_count:
        errors = list(scan.errors)
        if scan.error_count > len(errors):
            errors.append(ImportRowError(file=name, line=None, reason=(
                f"{scan.error_count - len(errors):,} more problems not listed; fix the ones above and try again")))
        raise ImportErrors(errors)
    if not scan.rows:
        raise QuorumError(f"{name}: no items found.")
    created = duplicates = 0
    with transaction.atomic():
        labels, created_labels = _stream_labels(project, scan, name)
        rng = random.Random()
        with path.open("rb") as fh:
            batch: list[Row] = []
            for row in _iter_text_file(name, fh):
                batch.append(row)
                if len(batch) >= BATCH:
                    c, d = _write_batch(project, batch, labels, queue_given, rng, name)
                    created, duplicates, batch = created + c, duplicates + d, []
                    if on_progress:
                        on_progress(created + duplicates, scan.rows)
            if batch:
                c, d = _write_batch(project, batch, labels, queue_given, rng, name)
                created, duplicates = created + c, duplicates + d
    if on_progress:
        on_progress(scan.rows, scan.rows)
    return ImportResult(created=created, duplicates=duplicates, labels_created=created_labels)


def _write_batch(project, batch: list[Row], labels, queue_given, rng, name) -> tuple[int, int]:
    seen = set(Item.objects.filter(project=project, content_hash__in=[r.content_hash for r in batch])
               .values_list("content_hash", flat=True))
    unique = _new_rows(batch, seen)
    items = [_new_item(project, r, labels, queue_given, rng, []) for r in unique]
    Item.objects.bulk_create(items)
    LabelEvent.objects.bulk_create([
        LabelEvent(project=project, item=it, source="given", to_label=it.final_label,
                   reason=f"given label in {name}", cause="import")
        for it in items if it.final_label is not None])
    created = len(unique)
    del items, unique
    # Model instances with a FileField sit in reference cycles (instance <-> FieldFile): free each batch now
    # rather than let a million rows of garbage pile up until the collector runs.
    gc.collect()
    return created, len(batch) - created
