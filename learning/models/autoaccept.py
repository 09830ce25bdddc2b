"""Auto-accept's record: one run per model version, and the spot checks that measure its precision."""
from django.db import models

from core.models.item import Item
from core.models.project import Label, Project
from learning.models.modeling import ModelVersion


class AutoAcceptRun(models.Model):
    """What auto-accept did after one retrain: the calibration, the threshold, how many items it labelled.

    One per model version and auto-accept period (Project.auto_accept_since), so a redelivered retrain
    task finds its run and labels nothing twice. ``threshold`` is None when it waited (``message`` says why).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="auto_accept_runs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="auto_accept_runs")
    since = models.DateTimeField(help_text="The auto-accept period this run belongs to.")
    target = models.FloatField()
    threshold = models.FloatField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    n_heldout = models.PositiveIntegerField(default=0, help_text="Held-out human labels it calibrated on.")
    heldout_precision = models.FloatField(null=True, blank=True, help_text="Precision at the threshold, held out.")
    accepted = models.PositiveIntegerField(default=0)
    spot_checks = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "labeling_autoacceptrun"  # kept from before the split into apps
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["model_version", "since"], name="autoacceptrun_once")]


class AutoAcceptCheck(models.Model):
    """An auto-accepted item kept in the human queue; the human's label, once in, says if the model was right."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(AutoAcceptRun, on_delete=models.CASCADE, related_name="checks")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="auto_accept_check")
    model_label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    human_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    agreed = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "labeling_autoacceptcheck"  # kept from before the split into apps
        indexes = [models.Index(fields=["project", "created_at"], name="autoacceptcheck_project")]
