"""Rows of a project's export, streamed in keyset-paged chunks so memory stays flat at any size."""
import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings

from .models import Annotation, Item, ModelVersion, Prediction, Project

CHUNK = 2000
CSV_FIELDS = ["id", "data", "final_label", "final_source", "final_confidence", "given_label", "label_quality",
              "annotations", "probabilities", "metadata", "url"]


def export_rows(project: Project) -> Iterator[dict]:
    """One dict per item in id order: data reference, final label and source, annotations, latest probabilities."""
    labels = list(project.labels.all())  # ordered: the probability columns follow this order
    names = {lab.pk: lab.name for lab in labels}
    order = [lab.name for lab in labels]
    latest = ModelVersion.objects.filter(project=project).first()
    last_id = 0
    base = settings.SITE_URL.rstrip("/")
    while True:
        chunk = list(Item.objects.filter(project=project, id__gt=last_id).order_by("id").values(
            "id", "text", "image", "final_label_id", "final_source", "final_confidence", "given_label_id",
            "label_quality", "metadata")[:CHUNK])
        if not chunk:
            return
        ids = [c["id"] for c in chunk]
        last_id = ids[-1]
        votes = defaultdict(list)
        for a in (Annotation.objects.filter(item_id__in=ids, superseded_by__isnull=True)
                  .values_list("item_id", "annotator__username", "label_id", "created_at").order_by("id")):
            votes[a[0]].append({"annotator": a[1], "label": names[a[2]], "created_at": a[3].isoformat()})
        probs = {}
        if latest is not None:
            probs = dict(Prediction.objects.filter(model_version=latest, item_id__in=ids)
                         .values_list("item_id", "probabilities"))
        for c in chunk:
            p = probs.get(c["id"])
            yield {
                "id": c["id"],
                "data": c["text"] if not c["image"] else f"{base}/items/{c['id']}/image/",
                "final_label": names.get(c["final_label_id"]), "final_source": c["final_source"] or None,
                "final_confidence": c["final_confidence"], "given_label": names.get(c["given_label_id"]),
                "label_quality": c["label_quality"], "annotations": votes.get(c["id"], []),
                "probabilities": dict(zip(order, p, strict=False)) if p else None,
                "metadata": c["metadata"], "url": f"{base}/items/{c['id']}/",
            }


def jsonl_lines(rows: Iterator[dict]) -> Iterator[bytes]:
    for row in rows:
        yield (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode()


def csv_lines(rows: Iterator[dict]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for row in rows:
        flat = {**row, "annotations": json.dumps(row["annotations"], sort_keys=True),
                "probabilities": json.dumps(row["probabilities"], sort_keys=True) if row["probabilities"] else "",
                "metadata": json.dumps(row["metadata"], sort_keys=True)}
        writer.writerow(flat)
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()
