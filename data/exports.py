"""Rows of a project's export, streamed in keyset-paged chunks so memory stays flat at any size."""
import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef

from core.models import Annotation, Item, LabelSource, Project
from learning.models import ModelVersion, Prediction
from quorum.lib.errors import QuorumError

CHUNK = 2000
CSV_FIELDS = ["id", "data", "final_label", "final_source", "final_confidence", "given_label", "label_quality",
              "annotations", "probabilities", "metadata", "url",
              "source_name"]  # new columns go last, so scripts that read columns by position keep working
VERSION_CSV_FIELDS = ["id", "data", "content_hash", "final_label", "final_source", "final_confidence",
                      "label_quality", "ambiguous", "split", "annotations", "metadata", "url", "source_name"]
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv", "coco": "application/json"}


@dataclass(frozen=True)
class ExportFilters:
    """Which rows an export keeps. Empty tuples and None mean "no filter"."""

    min_quality: float | None = None
    sources: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    exclude_ambiguous: bool = False
    labeled_only: bool = False
    splits: tuple[str, ...] = ()  # versions only
    # Blind labeling: an annotator's export holds only the items they labeled, with only their own annotations.
    annotator_id: int | None = None

    def check(self, project: Project) -> "ExportFilters":
        """Refuse unknown sources and classes with the accepted values, so a typo is not an empty export."""
        bad = [s for s in self.sources if s not in LabelSource.values]
        if bad:
            raise QuorumError(f"Unknown source(s) {', '.join(bad)}: use {', '.join(LabelSource.values)}.")
        known = set(project.labels.values_list("name", flat=True))
        bad = [c for c in self.classes if c not in known]
        if bad:
            raise QuorumError(f"Unknown class(es) {', '.join(bad)}: this project has {', '.join(sorted(known))}.")
        bad = [s for s in self.splits if s not in ("train", "validation", "test")]
        if bad:
            raise QuorumError(f"Unknown split(s) {', '.join(bad)}: use train, validation or test.")
        return self


def link_base(request_root: str) -> str:
    """Where export links point: SITE_URL when it is set explicitly, else the root the request came to
    (``request.build_absolute_uri("/")``), so links work on any host and port the server runs on."""
    return (settings.SITE_URL or request_root or "").rstrip("/")


def item_url(item_id: int, base: str = "") -> str:
    return f"{base}/items/{item_id}/"


def item_data(item_id: int, text: str, image: str, base: str = "") -> str:
    """Text items export their text; image items a URL to the image."""
    return text if not image else f"{base}/items/{item_id}/image/"


def current_annotations(ids: list[int], names: dict[int, str], annotator_id: int | None = None) -> dict[int, list[dict]]:
    """The annotations in force (not superseded) of these items (sorted ids), oldest first; only one
    annotator's when ``annotator_id`` is given.

    Read by id range rather than a long IN list: one index range scan, no huge query text.
    """
    votes = defaultdict(list)
    if not ids:
        return votes
    wanted = set(ids)
    found = Annotation.objects.filter(item_id__gte=ids[0], item_id__lte=ids[-1], superseded_by__isnull=True)
    if annotator_id is not None:
        found = found.filter(annotator_id=annotator_id)
    for a in (found
              .values_list("item_id", "annotator__username", "label_id", "created_at").order_by("id")):
        if a[0] in wanted:
            votes[a[0]].append({"annotator": a[1], "label": names[a[2]], "created_at": a[3].isoformat()})
    return votes


def _live_queryset(project: Project, filters: ExportFilters, label_ids: dict[str, int]):
    qs = Item.objects.filter(project=project)
    if filters.min_quality is not None:
        qs = qs.filter(label_quality__gte=filters.min_quality)
    if filters.sources:
        qs = qs.filter(final_source__in=filters.sources)
    if filters.classes:
        qs = qs.filter(final_label_id__in=[label_ids[c] for c in filters.classes])
    if filters.exclude_ambiguous:
        qs = qs.filter(ambiguous=False)
    if filters.labeled_only:
        qs = qs.filter(final_label__isnull=False, excluded=False)
    if filters.annotator_id is not None:
        qs = qs.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator_id=filters.annotator_id)))
    return qs


def export_rows(project: Project, filters: ExportFilters | None = None, *, site: str = "") -> Iterator[dict]:
    """One dict per item in id order: data reference, final label and source, annotations, latest probabilities.

    ``site`` prefixes the item and image links (see link_base)."""
    filters = filters or ExportFilters()
    labels = list(project.labels.all())  # ordered: the probability columns follow this order
    names = {lab.pk: lab.name for lab in labels}
    order = [lab.name for lab in labels]
    base = _live_queryset(project, filters, {lab.name: lab.pk for lab in labels})
    latest = ModelVersion.objects.filter(project=project).first()
    last_id = 0
    while True:
        chunk = list(base.filter(id__gt=last_id).order_by("id").values(
            "id", "text", "image", "source_name", "final_label_id", "final_source", "final_confidence", "given_label_id",
            "label_quality", "metadata")[:CHUNK])
        if not chunk:
            return
        ids = [c["id"] for c in chunk]
        last_id = ids[-1]
        votes = current_annotations(ids, names, filters.annotator_id)
        probs = {}
        if latest is not None:
            probs = dict(Prediction.objects.filter(model_version=latest, item_id__gte=ids[0], item_id__lte=ids[-1])
                         .values_list("item_id", "probabilities"))
        for c in chunk:
            p = probs.get(c["id"])
            yield {
                "id": c["id"], "data": item_data(c["id"], c["text"], c["image"], site),
                "source_name": c["source_name"],
                "final_label": names.get(c["final_label_id"]), "final_source": c["final_source"] or None,
                "final_confidence": c["final_confidence"], "given_label": names.get(c["given_label_id"]),
                "label_quality": c["label_quality"], "annotations": votes.get(c["id"], []),
                "probabilities": dict(zip(order, p, strict=False)) if p else None,
                "metadata": c["metadata"], "url": item_url(c["id"], site),
            }


def jsonl_lines(rows: Iterator[dict]) -> Iterator[bytes]:
    """One JSON object per line, keys sorted, batched into ~64 KB writes."""
    dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
    buf, size = [], 0
    for row in rows:
        line = dumps(row) + "\n"
        buf.append(line)
        size += len(line)
        if size >= 65536:
            yield "".join(buf).encode()
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A text cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage
    return) gets a leading single quote, so it opens as text (OWASP "CSV injection"). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterator[dict], fields: list[str] = CSV_FIELDS) -> Iterator[bytes]:
    """CSV with a header; nested values (annotations, probabilities, metadata) as JSON strings; every text
    cell passed through csv_cell, so no cell is a formula."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        flat = {**row, "annotations": json.dumps(row["annotations"], sort_keys=True),
                "metadata": json.dumps(row["metadata"], sort_keys=True)}
        if "probabilities" in row:
            flat["probabilities"] = json.dumps(row["probabilities"], sort_keys=True) if row["probabilities"] else ""
        writer.writerow({key: csv_cell(value) for key, value in flat.items()})
        if n % 500 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def coco_chunks(rows: Callable[[], Iterable[dict]], categories: list[str]) -> Iterator[bytes]:
    """COCO-style JSON for image classification: images, one annotation (the final label) per image, categories.

    ``rows`` is called twice (images, then annotations) so nothing is held in memory.
    """
    cat_ids = {name: n for n, name in enumerate(categories, start=1)}
    yield b'{"info": {"description": "Quorum export", "version": "1.0"}, "images": ['
    first = True
    for row in rows():
        image = {"id": row["id"], "file_name": row["data"], "coco_url": row["data"], "quorum_url": row["url"]}
        if "split" in row:
            image["split"] = row["split"]
        yield (b"" if first else b", ") + json.dumps(image, sort_keys=True).encode()
        first = False
    yield b'], "annotations": ['
    first = True
    for row in rows():
        if row["final_label"] is None:
            continue
        ann = {"id": row["id"], "image_id": row["id"], "category_id": cat_ids[row["final_label"]],
               "source": row["final_source"], "confidence": row["final_confidence"],
               "label_quality": row["label_quality"]}
        yield (b"" if first else b", ") + json.dumps(ann, sort_keys=True).encode()
        first = False
    yield b'], "categories": ' + json.dumps([{"id": i, "name": n} for n, i in cat_ids.items()]).encode() + b"}\n"
