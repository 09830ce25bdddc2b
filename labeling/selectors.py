"""Reads for the labeling screens, each in a constant number of queries."""
from django.db.models import Count, F, Q

from .models import Annotation, Item, Job, ModelVersion, Project


def project_progress(project: Project) -> dict:
    agg = Item.objects.filter(project=project).aggregate(
        total=Count("id"),
        labeled=Count("id", filter=Q(final_label__isnull=False)),
        open=Count("id", filter=Q(needed__gt=0) & Q(annotation_count__lt=F("needed")) & Q(excluded=False)),
    )
    agg["percent"] = int(100 * agg["labeled"] / agg["total"]) if agg["total"] else 0
    return agg

def annotator_progress(project: Project, annotator) -> dict:
    done = Annotation.objects.filter(project=project, annotator=annotator, supersedes__isnull=True).count()
    remaining = Item.objects.filter(project=project, excluded=False, annotation_count__lt=F("needed")).count()
    total = done + remaining
    return {"done": done, "remaining": remaining, "percent": int(100 * done / total) if total else 100}

def latest_model(project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project).first()

def recent_jobs(project: Project, limit: int = 5):
    return list(Job.objects.filter(project=project)[:limit])

def class_counts(project: Project) -> list[dict]:
    counts = dict(Item.objects.filter(project=project, final_label__isnull=False).values_list("final_label")
                  .annotate(n=Count("id")).values_list("final_label", "n"))
    labels = list(project.labels.all())
    top = max(counts.values(), default=0)
    return [{"label": lab, "count": counts.get(lab.pk, 0),
             "percent": int(100 * counts.get(lab.pk, 0) / top) if top else 0} for lab in labels]
