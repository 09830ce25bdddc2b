"""Flags: items a model or the annotators' disagreement marks for a reviewer."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import Item, Label, Project
from learning.models import ModelVersion


class Flag(models.Model):
    class Reason(models.TextChoices):
        MODEL_DISAGREEMENT = "model", "Model disagrees with the label"
        ANNOTATOR_DISAGREEMENT = "annotators", "Annotators disagree"
        LOW_CONSENSUS = "low_consensus", "Low consensus confidence"
        GOLD_FAILURE = "gold", "Gold item answered wrong"
        DATA_QUALITY = "data_quality", "Data-quality check"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="flags")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    score = models.FloatField(help_text="Higher is more likely a real problem.")
    explanation = models.TextField()
    suggested_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Optimistic locking: an action names the version it saw; a stale version is refused.
    version = models.PositiveIntegerField(default=1)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True)
    label_changed = models.BooleanField(null=True, help_text="Did the review change the label (a real error)?")
    # What the reviewer did (accept, relabel, escalate, ambiguous, exclude): undo needs it.
    action = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # At most one open flag per item and reason: re-running the job does not duplicate flags.
            models.UniqueConstraint(fields=["item", "reason"], condition=Q(status="open"), name="flag_one_open"),
        ]
        indexes = [models.Index(fields=["project", "status", "-score"], name="flag_queue")]

    def __str__(self):
        return f"{self.get_reason_display()} on item {self.item_id}"


class Comment(models.Model):
    """A reviewer's note on an item (optionally while reviewing one of its flags). Never edited."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["item", "created_at"], name="comment_item")]

    def __str__(self):
        return f"comment on item {self.item_id}"


class Audit(models.Model):
    """A random, stratified sample of labeled items that a reviewer re-labels blind to estimate label accuracy."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audits")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    size = models.PositiveIntegerField()
    seed = models.BigIntegerField(help_text="Random seed of the draw, so it can be reproduced.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Filled when the last item is reviewed: per class and per source {n, correct, accuracy, low, high}.
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"audit {self.pk} of {self.size} items"


class AuditItem(models.Model):
    """One sampled item: the label it carried when drawn, and the auditor's blind verdict."""

    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    label_at_draw = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    source_at_draw = models.CharField(max_length=10)
    verdict = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    correct = models.BooleanField(null=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["audit", "item"], name="audititem_once"),
            models.UniqueConstraint(fields=["audit", "position"], name="audititem_position"),
        ]

    def __str__(self):
        return f"audit {self.audit_id} item {self.position + 1}"
