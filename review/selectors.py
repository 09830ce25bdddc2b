"""Reads for the review screens."""
from django.db.models import Count

from labeling.models import Annotation, LabelEvent, Prediction

from .models import Flag


def open_flags(project, *, reason: str | None = None):
    qs = (Flag.objects.filter(project=project, status=Flag.Status.OPEN)
          .select_related("item", "item__final_label", "suggested_label").order_by("-score", "id"))
    if reason:
        qs = qs.filter(reason=reason)
    return qs


def flag_counts(project) -> dict:
    rows = (Flag.objects.filter(project=project, status=Flag.Status.OPEN).values("reason")
            .annotate(n=Count("id")).values_list("reason", "n"))
    return dict(rows)


def next_open_flag(project, *, after_score: float | None = None, exclude_id: int | None = None) -> Flag | None:
    qs = open_flags(project)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.first()


def flag_detail(flag: Flag) -> dict:
    item = flag.item
    labels = list(item.project.labels.all())
    annotations = list(Annotation.objects.filter(item=item).select_related("annotator", "label")
                       .order_by("created_at", "id"))
    prediction = Prediction.objects.filter(item=item).order_by("-model_version_id").first()
    top = []
    if prediction:
        ranked = sorted(enumerate(prediction.probabilities), key=lambda p: -p[1])[:3]
        top = [{"label": labels[i], "p": p, "percent": int(round(100 * p))} for i, p in ranked if i < len(labels)]
    events = list(LabelEvent.objects.filter(item=item).select_related("actor", "from_label", "to_label"))
    return {"flag": flag, "item": item, "labels": labels, "annotations": annotations, "top": top, "events": events}
