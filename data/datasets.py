"""Dataset versions: freeze the current final labels, compare two versions, stream a version's rows."""
import hashlib
import re
from collections import Counter
from collections.abc import Iterator

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery

from core.models import Item, Project
from data.exports import ExportFilters, current_annotations, item_data, item_url
from data.models import DatasetVersion, DatasetVersionRow
from quorum.lib.errors import Conflict, QuorumError

CHUNK = 5000
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SPLIT_SHARES = (("train", 80), ("validation", 90), ("test", 100))  # cumulative percent


def split_for(content_hash: str) -> str:
    """80/10/10 split from the item's content hash, so an item keeps its split in every version."""
    bucket = int(content_hash[:8], 16) % 100
    return next(name for name, upto in SPLIT_SHARES if bucket < upto)


def _check_name(project: Project, name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.fullmatch(name):
        raise QuorumError(f"Version name {name!r} is not valid: use 1-100 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit (e.g. v1 or 2024-06-01).")
    if DatasetVersion.objects.filter(project=project, name=name).exists():
        raise Conflict(f"Project {project.name} already has a version named {name!r}; pick another name.")
    return name


def version_create(*, project: Project, name: str, user=None, description: str = "") -> DatasetVersion:
    """Freeze every non-excluded item that has a final label into a new immutable version.

    Items are read in content-hash order in keyset chunks, so the content hash is computed in one pass
    and memory stays flat at any size.
    """
    name = _check_name(project, name)
    names = {lab.pk: lab.name for lab in project.labels.all()}
    digest = hashlib.sha256()
    classes, sources, splits = Counter(), Counter(), Counter()
    try:
        with transaction.atomic():
            version = DatasetVersion.objects.create(project=project, name=name, description=description,
                                                    created_by=user, content_hash="")
            for chunk in _labeled_chunks(project):
                votes = current_annotations([c["id"] for c in chunk], names)
                rows = []
                for c in chunk:
                    label, split = names[c["final_label_id"]], split_for(c["content_hash"])
                    digest.update(f"{c['content_hash']}\t{label}\n".encode())
                    classes[label] += 1
                    sources[c["final_source"]] += 1
                    splits[split] += 1
                    rows.append(DatasetVersionRow(
                        version=version, item_id=c["id"], label=label, source=c["final_source"],
                        confidence=c["final_confidence"], label_quality=c["label_quality"],
                        ambiguous=c["ambiguous"], split=split, annotations=votes.get(c["id"], [])))
                DatasetVersionRow.objects.bulk_create(rows, batch_size=CHUNK)
            version.content_hash = digest.hexdigest()
            version.item_count = sum(classes.values())
            version.class_counts = {n: classes.get(n, 0) for n in names.values()}
            version.source_counts = dict(sorted(sources.items()))
            version.split_counts = {name: splits.get(name, 0) for name, _ in SPLIT_SHARES}
            version.save(update_fields=["content_hash", "item_count", "class_counts", "source_counts", "split_counts"])
    except IntegrityError as exc:  # a concurrent request took the name between the check and the insert
        raise Conflict(f"Project {project.name} already has a version named {name!r}; pick another name.") from exc
    return version


def _labeled_chunks(project: Project) -> Iterator[list[dict]]:
    after = base = Item.objects.filter(project=project, excluded=False, final_label__isnull=False)
    while True:
        chunk = list(after.order_by("content_hash").values(
            "id", "content_hash", "final_label_id", "final_source", "final_confidence", "label_quality",
            "ambiguous")[:CHUNK])
        if not chunk:
            return
        after = base.filter(content_hash__gt=chunk[-1]["content_hash"])
        yield chunk


def version_diff(*, old: DatasetVersion, new: DatasetVersion, limit: int = 1000) -> dict:
    """Items added, removed and relabelled from ``old`` to ``new`` (first ``limit`` of each), and the class shift."""
    old_rows, new_rows = old.rows.all(), new.rows.all()
    added = new_rows.exclude(item_id__in=old_rows.values("item_id"))
    removed = old_rows.exclude(item_id__in=new_rows.values("item_id"))
    relabelled = (new_rows.annotate(old_label=Subquery(old_rows.filter(item_id=OuterRef("item_id")).values("label")[:1]))
                  .filter(old_label__isnull=False).exclude(old_label=F("label")))
    return {
        "old": old.name, "new": new.name,
        "added": _listing(added.order_by("item_id").values("item_id", "label"), limit),
        "removed": _listing(removed.order_by("item_id").values("item_id", "label"), limit),
        "relabelled": _listing(relabelled.order_by("item_id").values("item_id", "old_label", "label"), limit,
                               rename={"label": "new_label"}),
        "class_shift": class_shift(old.class_counts, new.class_counts),
    }


def _listing(qs, limit: int, rename: dict | None = None) -> dict:
    rename = {"item_id": "item", **(rename or {})}
    rows = [{rename.get(k, k): v for k, v in r.items()} for r in qs[:limit]]
    return {"count": qs.count(), "items": rows, "truncated": len(rows) < qs.count()}


def class_shift(old_counts: dict, new_counts: dict) -> dict:
    """Per class: counts and shares in both versions and the change; plus total variation distance."""
    old_total, new_total = sum(old_counts.values()) or 1, sum(new_counts.values()) or 1
    classes = list(old_counts) + [c for c in new_counts if c not in old_counts]
    per_class, tvd = [], 0.0
    for c in classes:
        a, b = old_counts.get(c, 0), new_counts.get(c, 0)
        sa, sb = a / old_total, b / new_total
        tvd += abs(sb - sa) / 2
        per_class.append({"label": c, "old_count": a, "new_count": b, "old_share": round(sa, 6),
                          "new_share": round(sb, 6), "share_change": round(sb - sa, 6)})
    return {"classes": per_class, "total_variation_distance": round(tvd, 6)}


def version_rows(version: DatasetVersion, filters: ExportFilters | None = None, *, site: str = "") -> Iterator[dict]:
    """A version's rows in item order, built only from frozen data, so every download is byte-identical."""
    filters = filters or ExportFilters()
    base = version.rows.all()
    if filters.min_quality is not None:
        base = base.filter(label_quality__gte=filters.min_quality)
    if filters.sources:
        base = base.filter(source__in=filters.sources)
    if filters.classes:
        base = base.filter(label__in=filters.classes)
    if filters.exclude_ambiguous:
        base = base.filter(ambiguous=False)
    if filters.splits:
        base = base.filter(split__in=filters.splits)
    last = 0
    while True:
        chunk = list(base.filter(item_id__gt=last).order_by("item_id").values(
            "item_id", "label", "source", "confidence", "label_quality", "ambiguous", "split", "annotations",
            "item__text", "item__image", "item__source_name", "item__content_hash", "item__metadata")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1]["item_id"]
        for c in chunk:
            yield {
                "id": c["item_id"], "data": item_data(c["item_id"], c["item__text"], c["item__image"], site),
                "source_name": c["item__source_name"],
                "content_hash": c["item__content_hash"], "final_label": c["label"], "final_source": c["source"],
                "final_confidence": c["confidence"], "label_quality": c["label_quality"],
                "ambiguous": c["ambiguous"], "split": c["split"], "annotations": c["annotations"],
                "metadata": c["item__metadata"], "url": item_url(c["item_id"], site),
            }


def dataset_version_tag(version, training_set: str) -> dict:
    """MLflow tag for a model version: the dataset version that holds exactly its training set, if any."""
    same = DatasetVersion.objects.filter(project_id=version.project_id, content_hash=training_set).first() \
        if training_set else None
    return {"quorum.dataset_version": same.name} if same is not None else {}
