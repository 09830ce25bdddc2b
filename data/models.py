"""Dataset versions: immutable snapshots of the final labels, with a content hash and a stable split."""
from django.conf import settings
from django.db import models

from core.models.item import Item
from core.models.project import Project


class DatasetVersion(models.Model):
    """A frozen set of (item, final label) rows; never changed after it is created."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dataset_versions")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # sha256 over "content_hash<TAB>label" lines sorted by item content hash: same content, same hash.
    content_hash = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField(default=0)
    class_counts = models.JSONField(default=dict)
    source_counts = models.JSONField(default=dict)
    split_counts = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "labeling_datasetversion"  # kept from before the split into apps
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="datasetversion_unique_name")]

    def __str__(self):
        return self.name


class DatasetVersionRow(models.Model):
    """One item's frozen label in a version; everything an export needs except the item's immutable data."""

    class Split(models.TextChoices):
        TRAIN = "train", "Train"
        VALIDATION = "validation", "Validation"
        TEST = "test", "Test"

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="rows")
    # RESTRICT: an item in a version cannot be deleted on its own, only with its project.
    item = models.ForeignKey(Item, on_delete=models.RESTRICT, related_name="+")
    label = models.CharField(max_length=100)
    source = models.CharField(max_length=10)
    confidence = models.FloatField(null=True)
    label_quality = models.FloatField(null=True)
    ambiguous = models.BooleanField(default=False)
    split = models.CharField(max_length=10, choices=Split.choices)
    annotations = models.JSONField(default=list)

    class Meta:
        db_table = "labeling_datasetversionrow"  # kept from before the split into apps
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="datasetversionrow_unique_item")]

    def __str__(self):
        return f"{self.version_id}:{self.item_id}={self.label}"
