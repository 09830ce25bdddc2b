"""A project's learning settings: which embedder makes its item features, and the seed of every random choice."""
from django.db import models

from core.models.project import Project


class LearningSettings(models.Model):
    """One row per project, created on first use. ``embedder`` blank means the global QUORUM_EMBEDDER.

    ``seed`` feeds every random choice the learning code makes for the project (CV splits, queue tie-breaks,
    diversity sampling, cold start, spot checks), so the same labels give the same queue. It starts at 0 (the
    seed every project had before it was stored) and a manager can change it on the Item features page.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True,
                                   related_name="learning_settings")
    embedder = models.CharField(max_length=500, blank=True, help_text=(
        "Item features: 'default', 'pixels', 'descriptors', 'tfidf', 'tfidf+wordllama' or "
        "'onnx:/path/model.onnx?size=224&mean=...&std=...'. Blank: the server default (QUORUM_EMBEDDER)."))
    seed = models.BigIntegerField(default=0, help_text="Seed of every random choice for this project.")

    def __str__(self):
        return f"{self.embedder or 'server default'} (seed {self.seed})"

    @classmethod
    def of(cls, project: Project) -> "LearningSettings":
        return cls.objects.get_or_create(project=project)[0]
