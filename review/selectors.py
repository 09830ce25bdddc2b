"""Reads for the review screens."""
from django.db.models import Count, Q

from quorum.lib.numbers import percent
from review.models import Audit, Flag

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


def flag_page(project, *, filters: dict | None = None, after: tuple[float, int] | None = None,
              before: tuple[float, int] | None = None, size: int = 50) -> dict:
    """One page of the queue by keyset on (score desc, id): ``after``/``before`` are the (score, id) of the
    last/first flag of the page the reviewer comes from. Constant cost at any depth (index flag_queue)."""
    qs = open_flags(project, filters=filters)
    if before is not None:
        score, pk = before
        rows = list(qs.filter(Q(score__gt=score) | Q(score=score, id__lt=pk)).order_by("score", "-id")[:size + 1])
        has_prev, rows = len(rows) > size, rows[:size][::-1]
        has_next = True
    else:
        if after is not None:
            score, pk = after
            qs = qs.filter(Q(score__lt=score) | Q(score=score, id__gt=pk))
        rows = list(qs[:size + 1])
        has_next, rows = len(rows) > size, rows[:size]
        has_prev = after is not None
    return {"flags": rows, "next": (rows[-1].score, rows[-1].pk) if rows and has_next else None,
            "prev": (rows[0].score, rows[0].pk) if rows and has_prev else None}


def latest_audit_estimate(project) -> dict | None:
    """The share of wrong labels by the project's latest finished audit (a random sample re-labelled blind), for
    the model card: {audit, n, wrong, low, high} as percentages from its 95 % Wilson interval; None without one.
    Unlike the model's estimate it does not depend on what the model can see, only on the sample's size."""
    audit = Audit.objects.filter(project=project, finished_at__isnull=False).order_by("-finished_at", "-id").first()
    overall = (audit.summary or {}).get("overall") if audit else None
    if not overall or not overall.get("n"):
        return None
    return {"audit": audit, "n": overall["n"], "wrong_n": overall["n"] - overall["correct"],
            "wrong": percent(1 - overall["accuracy"]), "low": percent(1 - overall["high"]),
            "high": percent(1 - overall["low"])}
