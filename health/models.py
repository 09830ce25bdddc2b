"""Data-health reports and their findings."""
from django.conf import settings
from django.db import models

from core.models import Project
from learning.models import ModelVersion


class HealthReport(models.Model):
    """One data-health run of a project: the numbers for the charts in ``results``, the findings as rows."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="health_reports")
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    n_items = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_healthreport"  # kept from before the split into apps
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="healthreport_latest")]

    def __str__(self):
        return f"health report {self.pk} of project {self.project_id}"


class Finding(models.Model):
    """One problem a health check found, with the items behind it (ids capped at ITEM_CAP)."""

    ITEM_CAP = 5000

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        SEVERE = "severe", "Severe"

    report = models.ForeignKey(HealthReport, on_delete=models.CASCADE, related_name="findings")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # "check" would shadow Model.check(), hence the longer name.
    check_name = models.CharField(max_length=40)
    # Identifies "the same finding" across runs (check plus e.g. class or slice), so a dismissal carries over.
    key = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=200)
    count = models.PositiveIntegerField()
    explanation = models.TextField()
    item_ids = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Extra data for actions, e.g. the label to boost.")
    dismissed = models.BooleanField(default=False)
    dismissed_reason = models.CharField(max_length=300, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "review_finding"  # kept from before the split into apps
        ordering = ["id"]
        indexes = [models.Index(fields=["report", "dismissed"], name="finding_report")]

    def __str__(self):
        return f"{self.check_name}: {self.title}"

    @property
    def items_capped(self) -> bool:
        return self.count > len(self.item_ids)
