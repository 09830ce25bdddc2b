"""Reads of model versions for the pages that show them."""
from core.models import Project
from learning.models import ModelVersion


def latest_model(project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project).first()


def model_versions(project: Project, *, limit: int = 50) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(project=project)[:limit])
