"""Reads for the review screens."""
from django.db.models import Count

from review.models import Flag

FILTERS = ("reason", "label", "suggested", "annotator")


def _filtered(qs, filters: dict, *, skip: str | None = None):
    """Apply the queue filters (reason, label = the item's current final label id, suggested label id, annotator id)."""
    f = {k: v for k, v in (filters or {}).items() if v and k != skip}
    if f.get("reason"):
        qs = qs.filter(reason=f["reason"])
    if f.get("label"):
        qs = qs.filter(item__final_label_id=f["label"])
    if f.get("suggested"):
        qs = qs.filter(suggested_label_id=f["suggested"])
    if f.get("annotator"):
        qs = qs.filter(item__annotations__annotator_id=f["annotator"]).distinct()
    return qs


def open_flags(project, *, reason: str | None = None, filters: dict | None = None):
    """Open flags, highest score first, narrowed by the queue filters."""
    qs = (Flag.objects.filter(project=project, status=Flag.Status.OPEN)
          .select_related("item", "item__final_label", "suggested_label").order_by("-score", "id"))
    filters = {**(filters or {}), **({"reason": reason} if reason else {})}
    return _filtered(qs, filters)


def filter_counts(project, filters: dict) -> dict:
    """For each filter, the number of open flags per option given the other active filters (4 queries)."""
    base = Flag.objects.filter(project=project, status=Flag.Status.OPEN)
    fields = {"reason": "reason", "label": "item__final_label", "suggested": "suggested_label",
              "annotator": "item__annotations__annotator"}
    out = {}
    for name, field in fields.items():
        qs = _filtered(base, filters, skip=name)
        if name == "annotator":
            rows = qs.values(field).annotate(n=Count("id", distinct=True)).values_list(field, "n")
        else:
            rows = qs.values(field).annotate(n=Count("id")).values_list(field, "n")
        out[name] = {k: n for k, n in rows if k is not None}
    return out
