"""A snapshot of a big project's dashboard counts, recounted in the background (see core.stats)."""
from django.db import models

from core.models.project import Project


class ProjectStats(models.Model):
    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    total = models.PositiveIntegerField(default=0)
    labeled = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0, help_text="Items waiting for annotators.")
    # {label id (as a string, JSON keys): items with that final label}
    by_label = models.JSONField(default=dict)
    # When the recount that produced these figures started; None until the first recount finished.
    counted_at = models.DateTimeField(null=True, blank=True)
    # Set when a recount is sent, cleared when it finishes: one recount at a time per project.
    recount_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "labeling_projectstats"  # kept from before the split into apps

    def __str__(self):
        return f"stats of project {self.project_id}"
