"""Reads every app shares."""
from django.db.models import prefetch_related_objects

from core.models import Label, Project


def project_labels(project: Project) -> list[Label]:
    """The project's labels in key order, read once per Project instance (that is, once per request):
    the submit, the next item and the page around it share one query."""
    prefetch_related_objects([project], "labels")
    return list(project.labels.all())
