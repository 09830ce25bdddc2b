"""Items, the queue's assignments, immutable annotations and the append-only label history."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.models.fields import Sha256Field
from core.models.project import Label, Project


class LabelSource(models.TextChoices):
    GIVEN = "given", "Given at import"
    ANNOTATOR = "annotator", "Annotator"
    CONSENSUS = "consensus", "Consensus"
    REVIEWER = "reviewer", "Reviewer"
    MODEL = "model", "Model"


def item_upload_to(item, filename):
    return f"projects/{item.project_id}/items/{item.content_hash[:2]}/{item.content_hash}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot != -1 else ""


class Item(models.Model):
    # No single-column index: item_unique_content and item_project_keyset lead with the project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items", db_index=False)
    text = models.TextField(blank=True)
    image = models.FileField(upload_to=item_upload_to, blank=True, max_length=255)
    source_name = models.CharField(max_length=500, blank=True, help_text="File name or line it came from.")
    metadata = models.JSONField(default=dict, blank=True)
    content_hash = Sha256Field()  # 32 bytes in the database, the hex in Python (issue 18)
    given_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    # Current final label; every change goes through core.services.set_final_label and leaves a LabelEvent.
    final_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    final_source = models.CharField(max_length=10, choices=LabelSource.choices, blank=True)
    final_confidence = models.FloatField(null=True, blank=True)
    # Queue state: how many distinct annotators must still label it (overlap, plus escalations).
    needed = models.PositiveSmallIntegerField(default=1)
    annotation_count = models.PositiveSmallIntegerField(default=0)
    # The queue order and the latest model's pre-label live in ItemRank (item.rank), a narrow table of its own.
    label_quality = models.FloatField(null=True, blank=True, help_text="Probability that the final label is right.")
    is_gold = models.BooleanField(default=False)
    gold_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    excluded = models.BooleanField(default=False, help_text="Left out of training and exports.")
    ambiguous = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # read per project: item_updated

    class Meta:
        db_table = "labeling_item"  # kept from before the split into apps
        constraints = [
            models.UniqueConstraint(fields=["project", "content_hash"], name="item_unique_content"),
        ]
        indexes = [
            # Labeled items by class. Partial: an import of unlabeled items (the usual import) adds no entry to it
            # (issue 18: index maintenance was most of an import's database work); "unlabeled" lists walk
            # item_project_keyset instead.
            models.Index(fields=["project", "final_label"], name="item_final_label",
                         condition=Q(final_label__isnull=False)),
            models.Index(fields=["project", "updated_at"], name="item_updated"),
            # Keyset paging of a project's items in id order (exports, API lists) at any depth.
            models.Index(fields=["project", "id"], name="item_project_keyset"),
            # Deleting a label looks up the items that use it (PROTECT / SET_NULL). Partial indexes serve that
            # lookup while an import of unlabeled items does not pay for them (issue #7: bulk import speed).
            *(models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"item_{name}_used")
              for name in ("given_label", "final_label", "gold_label")),
        ]

    def __str__(self):
        return f"item {self.pk}"

    @property
    def is_labeled(self) -> bool:
        return self.final_label_id is not None

    @property
    def is_open(self) -> bool:
        return self.annotation_count < self.needed

    def short_text(self, n: int = 80) -> str:
        return self.text if len(self.text) <= n else self.text[: n - 1] + "…"


class ItemRank(models.Model):
    """An item's place in the queue and the latest model's pre-label, in a narrow table of their own.

    Ranking rewrites these for every item after each retrain. On the wide item row, with its ten indexes, each
    written row was a new version with an entry in every index (~0.7 s per 20,000 items); this narrow row has
    three (~0.1 s on a quiet machine; issue 18). Database triggers on the item table (migration core
    0002_item_rank) create the row with each item, whichever path inserts it, and keep ``is_open`` equal to
    the item's ``annotation_count < needed and not excluded``, whichever path changes those.
    """

    item = models.OneToOneField(Item, primary_key=True, on_delete=models.CASCADE, related_name="rank")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    priority = models.FloatField(default=0.0, help_text="Queue order: higher is served first.")
    is_open = models.BooleanField(default=True, help_text="Waiting for annotators (kept by database triggers).")
    predicted_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                        db_index=False)
    predicted_confidence = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "labeling_itemrank"
        indexes = [
            # The queue: open items of a project in ranking order (partial, so it stays small).
            models.Index(F("project"), F("priority").desc(), F("item"), name="rank_queue",
                         condition=Q(is_open=True)),
            # Deleting a label sets the pre-labels that use it to NULL (SET_NULL).
            models.Index(fields=["predicted_label"], condition=Q(predicted_label__isnull=False),
                         name="rank_predicted_label_used"),
        ]

    def __str__(self):
        return f"rank of item {self.item_id}"


class Assignment(models.Model):
    """An item served to one annotator: a lease while open, kept forever so an item is never served twice."""

    class State(models.TextChoices):
        LEASED = "leased", "Leased"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.LEASED)
    served_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "labeling_assignment"  # kept from before the split into apps
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="assignment_once_per_annotator")]
        indexes = [
            models.Index(fields=["annotator", "project", "state"], name="assignment_open_lease"),
            models.Index(fields=["item", "state", "expires_at"], name="assignment_item_lease"),
        ]


class Annotation(models.Model):
    """One annotator's label for one item. Never updated: a correction is a new row that supersedes it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    label = models.ForeignKey(Label, on_delete=models.PROTECT, related_name="+")
    seconds = models.FloatField(default=0.0, help_text="Time spent on the item.")
    assignment = models.OneToOneField(Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="annotation")
    suggested_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    accepted_suggestion = models.BooleanField(default=False)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "labeling_annotation"  # kept from before the split into apps
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"], condition=Q(supersedes__isnull=True), name="annotation_first_once"
            ),
        ]
        indexes = [
            models.Index(fields=["annotator", "created_at"], name="annotation_by_annotator"),
            # Hot path: an annotator's progress, and "labels since the last retrain" counted with a LIMIT.
            models.Index(fields=["project", "annotator"], condition=Q(supersedes__isnull=True),
                         name="annotation_first_by_annotator"),
            models.Index(fields=["project", "created_at"], condition=Q(supersedes__isnull=True),
                         name="annotation_new"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("force_insert", False):
            raise ValueError("annotations are immutable; create a new one that supersedes this one")
        super().save(*args, **kwargs)


class LabelEvent(models.Model):
    """Append-only history of an item's final label: who, when, from, to, why."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events", db_index=False)  # labelevent_item
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    source = models.CharField(max_length=10, choices=LabelSource.choices)
    from_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   db_index=False)
    to_label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    # What caused it, as a plain reference so the lower app needs no import of review (e.g. "flag:12").
    cause = models.CharField(max_length=100, blank=True)
    # An event is undone at most once (labelevent_undoes_once): unique where set only, as the events imports write
    # (most of the table) undo nothing, and a unique index on the column would hold an entry for each (issue 18).
    undoes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by",
                               db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "labeling_labelevent"  # kept from before the split into apps
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["undoes"], condition=Q(undoes__isnull=False), name="labelevent_undoes_once"),
        ]
        indexes = [
            models.Index(fields=["item", "created_at"], name="labelevent_item"),
            # Imports write events with no actor and no previous label: partial, so they cost nothing there.
            models.Index(fields=["actor", "created_at"], condition=Q(actor__isnull=False), name="labelevent_actor"),
            models.Index(fields=["from_label"], condition=Q(from_label__isnull=False), name="labelevent_from_label"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("label history is append-only")
        super().save(*args, **kwargs)
