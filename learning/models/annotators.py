"""The annotator model: Dawid-Skene fitted in the worker, which a submit applies to the one item it completes."""
from django.conf import settings
from django.db import models

from core.models.project import Project
from learning.models.modeling import ModelVersion


class AnnotatorModel(models.Model):
    """Class priors and one confusion matrix per annotator, fitted over a project's multi-annotator items.

    The newest row of a project is the one in use. ``method`` "majority" records a fit that found too few
    multi-annotator items to estimate anyone: submits then take a majority vote.
    """

    class Method(models.TextChoices):
        MAJORITY = "majority", "Majority vote (too few items to fit)"
        DAWID_SKENE = "dawid_skene", "Dawid-Skene"
        MODEL_ASSISTED = "model_assisted", "Dawid-Skene with the model as one more annotator"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotator_models", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    n_items = models.PositiveIntegerField(help_text="Multi-annotator items it was fitted on.")
    n_classes = models.PositiveSmallIntegerField()
    priors = models.JSONField(default=list, help_text="Share of each true class, in label order.")
    default_confusion = models.JSONField(
        default=list, help_text="Label-weighted mean confusion: used for annotators the fit never saw.")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", help_text="Whose probabilities the fit used.")
    model_confusion = models.JSONField(null=True, blank=True)
    model_weight = models.FloatField(default=0.0)

    class Meta:
        indexes = [models.Index(fields=["project", "-id"], name="annotatormodel_latest")]

    def __str__(self):
        return f"{self.get_method_display()} over {self.n_items} items"


class AnnotatorConfusion(models.Model):
    """One annotator's confusion matrix in a fitted model: rows are the true class, columns the given label."""

    annotator_model = models.ForeignKey(AnnotatorModel, on_delete=models.CASCADE, related_name="confusions",
                                        db_index=False)
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    n_labels = models.PositiveIntegerField()
    confusion = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["annotator_model", "annotator"],
                                               name="annotatorconfusion_unique")]
