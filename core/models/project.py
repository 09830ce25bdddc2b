"""Projects, their ordered label sets and their members' roles."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ml.active import DEFAULT_STRATEGY, STRATEGY_CHOICES


class Project(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image classification"
        TEXT = "text", "Text classification"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Single-label today; multi-label is planned and will read this flag.
    multi_label = models.BooleanField(default=False)
    guidelines = models.TextField(blank=True, help_text="Markdown, shown to annotators.")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Distinct annotators per item.")
    retrain_every = models.PositiveIntegerField(default=50, help_text="Retrain after this many new labels.")
    query_strategy = models.CharField(max_length=40, choices=STRATEGY_CHOICES, default=DEFAULT_STRATEGY,
                                      help_text="How the queue is ordered once a model exists.")
    adjudication_k = models.PositiveSmallIntegerField(default=2, help_text="Extra blind labels per disputed item.")
    consensus_threshold = models.FloatField(default=0.7, help_text="Below this consensus confidence, a reviewer decides.")
    gold_rate = models.FloatField(default=0.0, help_text="Share of served items that are gold items.")
    labels_at_last_retrain = models.PositiveIntegerField(default=0)
    # Auto-accept (learning.autoaccept): off by default; a manager turns it on with a target precision.
    auto_accept = models.BooleanField(default=False, help_text="Let the model label items it is sure enough of.")
    auto_accept_target = models.FloatField(
        default=0.98, validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
        help_text="Precision the auto-accepted labels must reach, measured on held-out human labels.")
    auto_accept_spot_check_rate = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of auto-accepted items still sent to an annotator as a spot check.")
    # When the current auto-accept period began: spot checks since then make up the measured precision.
    auto_accept_since = models.DateTimeField(null=True, blank=True)
    auto_accept_stopped_at = models.DateTimeField(null=True, blank=True)
    auto_accept_stopped_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "labeling_project"  # kept from before the split into apps
        constraints = [
            models.CheckConstraint(condition=models.Q(auto_accept_target__gte=0.5, auto_accept_target__lte=0.999),
                                   name="project_auto_accept_target_range"),
            models.CheckConstraint(condition=models.Q(auto_accept_spot_check_rate__gte=0.0,
                                                      auto_accept_spot_check_rate__lte=1.0),
                                   name="project_spot_check_rate_range"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_image(self) -> bool:
        return self.kind == self.Kind.IMAGE


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    key = models.CharField(max_length=1, help_text="Keyboard key, 1-9 then letters.")
    order = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "labeling_label"  # kept from before the split into apps
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name"),
            models.UniqueConstraint(fields=["project", "key"], name="label_unique_key"),
            models.UniqueConstraint(fields=["project", "order"], name="label_unique_order"),
        ]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


# A reviewer may also label; a manager may do everything.
ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    # The member's annotations in force in this project (first ones: a correction supersedes, it adds none), as
    # the labeling screen shows "done": kept by labeling.queue's submit in the same transaction as the
    # annotation, and counted afresh when a membership is created (core.services.membership_set), so reading it
    # costs the same at 10 labels as at 10,000. Annotations are deleted only with their project, which takes its
    # memberships along.
    annotation_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "labeling_membership"  # kept from before the split into apps
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]

    def allows(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
