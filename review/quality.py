"""Reads on people: annotators' measured quality and reviewers' throughput. Never shown to annotators."""
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.db.models.functions import TruncHour

from core.models import Annotation, LabelSource, Project
from ml.stats import proportion_estimate
from review.models import Flag


def annotator_quality(project: Project, *, annotator_ids: list[int] | None = None) -> dict[int, dict]:
    """Per annotator: accuracy against final labels they did not set alone, and against gold answers.

    Returns {annotator_id: {"final": rate, "gold": rate}}; a rate is {n, correct, accuracy, low, high}.
    """
    qs = Annotation.objects.filter(project=project, superseded_by__isnull=True)
    if annotator_ids is not None:
        qs = qs.filter(annotator_id__in=annotator_ids)
    final = (qs.filter(item__is_gold=False, item__final_label__isnull=False)
             .exclude(item__final_source=LabelSource.ANNOTATOR)  # their own single label proves nothing
             .values("annotator_id").annotate(n=Count("id"), ok=Count("id", filter=Q(label_id=F("item__final_label_id")))))
    gold = (qs.filter(item__is_gold=True, item__gold_label__isnull=False).values("annotator_id")
            .annotate(n=Count("id"), ok=Count("id", filter=Q(label_id=F("item__gold_label_id")))))
    out: dict[int, dict] = defaultdict(lambda: {"final": proportion_estimate(correct=0, n=0), "gold": proportion_estimate(correct=0, n=0)})
    for row in final:
        out[row["annotator_id"]]["final"] = proportion_estimate(correct=row["ok"], n=row["n"])
    for row in gold:
        out[row["annotator_id"]]["gold"] = proportion_estimate(correct=row["ok"], n=row["n"])
    return dict(out)


def annotator_confusion(project: Project, annotator_id: int) -> dict:
    """The annotator's labels against the reference (gold answer, else a final label they did not set alone)."""
    labels = list(project.labels.all())
    index = {lab.pk: i for i, lab in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    rows = (Annotation.objects.filter(project=project, annotator_id=annotator_id, superseded_by__isnull=True)
            .filter(Q(item__is_gold=True, item__gold_label__isnull=False)
                    | Q(item__is_gold=False, item__final_label__isnull=False) & ~Q(item__final_source=LabelSource.ANNOTATOR))
            .values_list("label_id", "item__is_gold", "item__gold_label_id", "item__final_label_id"))
    for given, is_gold, gold, final in rows:
        truth = gold if is_gold else final
        matrix[index[truth]][index[given]] += 1
    top = max((max(r) for r in matrix), default=0)
    return {"labels": labels, "rows": [{"label": lab, "cells": [{"n": n, "shade": _shade(n, top), "diag": i == j}
                                                              for j, n in enumerate(matrix[i])]}
                                       for i, lab in enumerate(labels)]}


def _shade(n: int, top: int) -> int:
    return int(round(100 * n / top)) if top else 0


def annotator_table(project: Project) -> list[dict]:
    """Every annotator of the project with annotation count and quality, most active first."""
    counts = dict(Annotation.objects.filter(project=project, superseded_by__isnull=True).values("annotator_id")
                  .annotate(n=Count("id")).values_list("annotator_id", "n"))
    quality = annotator_quality(project)
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=counts)}
    rows = [{"user": users[uid], "count": n, **quality.get(uid, {"final": proportion_estimate(correct=0, n=0), "gold": proportion_estimate(correct=0, n=0)})}
            for uid, n in counts.items()]
    return sorted(rows, key=lambda r: (-r["count"], r["user"].get_username()))


def reviewer_stats(project: Project) -> dict:
    """Decisions per active hour per reviewer, and the share of flags that were real errors, by reason."""
    done = Flag.objects.filter(project=project, status=Flag.Status.RESOLVED, resolved_by__isnull=False)
    per_reviewer = []
    hours = (done.annotate(hour=TruncHour("resolved_at")).values("resolved_by", "hour").annotate(n=Count("id")))
    by_reviewer: dict[int, list[int]] = defaultdict(list)
    for row in hours:
        by_reviewer[row["resolved_by"]].append(row["n"])
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=by_reviewer)}
    for uid, per_hour in by_reviewer.items():
        per_reviewer.append({"user": users[uid], "decisions": sum(per_hour), "active_hours": len(per_hour),
                             "per_hour": sum(per_hour) / len(per_hour)})
    per_reviewer.sort(key=lambda r: -r["decisions"])
    reasons = []
    agg = {r["reason"]: r for r in done.values("reason").annotate(
        n=Count("id"), decided=Count("id", filter=Q(label_changed__isnull=False)),
        changed=Count("id", filter=Q(label_changed=True)))}
    for value, text in Flag.Reason.choices:
        row = agg.get(value, {"n": 0, "decided": 0, "changed": 0})
        reasons.append({"reason": text, "value": value, "n": row["n"], "decided": row["decided"],
                        **proportion_estimate(correct=row["changed"], n=row["decided"])})
    top = max((r["per_hour"] for r in per_reviewer), default=0)
    for r in per_reviewer:
        r["percent"] = int(100 * r["per_hour"] / top) if top else 0
    return {"reviewers": per_reviewer, "reasons": reasons}
