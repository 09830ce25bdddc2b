"""Trained (or uploaded) model versions and their per-item predictions."""
from django.db import models

from core.models.item import Item
from core.models.project import Project
from quorum.lib.numbers import percent


class ModelVersion(models.Model):
    class Origin(models.TextChoices):
        TRAINED = "trained", "Trained in Quorum"
        UPLOADED = "uploaded", "Uploaded predictions"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    name = models.CharField(max_length=200)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.TRAINED)
    algorithm = models.CharField(max_length=100, blank=True)
    params = models.JSONField(default=dict, blank=True)
    n_train = models.PositiveIntegerField(default=0)
    cv_accuracy = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Per-class precision/recall/F1, ECE, ...")
    features = models.JSONField(default=dict, blank=True, help_text=(
        "The item features the model used: embedder name, version, dimensions and source (embedder or upload)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "labeling_modelversion"  # kept from before the split into apps
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="modelversion_unique_name")]

    def __str__(self):
        return self.name

    # Bookkeeping kept in params that says nothing about the model: the stored artifact and the job id.
    INTERNAL_PARAMS = ("artifact", "job")

    @property
    def features_text(self) -> str:
        """e.g. "descriptors v1 (701-d)"; "uploaded embeddings (512-d)"; "" when not recorded."""
        f = self.features or {}
        if not f.get("name"):
            return ""
        if f.get("source") == "upload":
            return f"uploaded embeddings ({f.get('dim', '?')}-d)"
        return f"{f['name']} v{f.get('version', '?')} ({f.get('dim', '?')}-d)"

    # Below this cross-validated accuracy the model is wrong more often than right, so the labels it disagrees
    # with are mostly its own mistakes: bench.features measured 45-79% "wrong labels" with pixel features
    # (accuracy 0.20-0.53) where 8% were wrong. The model card then says so instead of a figure.
    WEAK_MODEL = 0.5

    @property
    def wrong_labels(self) -> dict | None:
        """The estimate of wrong labels as the model card shows it (ml.noise.wrong_label_estimate): ``low`` and
        ``high`` percentages with their counts; ``high`` is None for versions stored before it was recorded,
        or when it is not above ``low``. ``none`` when the model disagrees with no label at all: that is "none
        found", not "0% wrong": wrong labels the model cannot tell from right ones may remain. ``{"weak": True,
        "accuracy": ...}`` below WEAK_MODEL accuracy. None without an estimate."""
        m = self.metrics or {}
        if m.get("estimated_noise_rate") is None:
            return None
        if self.cv_accuracy is not None and self.cv_accuracy < self.WEAK_MODEL:
            return {"weak": True, "accuracy": percent(self.cv_accuracy)}
        n, low = m.get("n_labels"), m["estimated_noise_rate"]
        out = {"low": percent(low), "low_n": m.get("estimated_wrong_labels"), "n": n, "high": None, "high_n": None}
        high_n = m.get("model_disagreements")
        out["none"] = bool(n) and not out["low_n"] and high_n == 0
        if n and high_n is not None and high_n > (out["low_n"] or 0):
            out.update(high=percent(high_n / n), high_n=high_n)
        return out

    @property
    def model_params(self) -> dict:
        """The algorithm's parameters as people read them (for pages; the API keeps everything)."""
        return {k: v for k, v in self.params.items() if k not in self.INTERNAL_PARAMS}


class Prediction(models.Model):
    """Class probabilities for one item from one model version, in the project's label order."""

    # No single-column indexes: prediction_unique leads with the version, prediction_latest with the item, and
    # every index is one more entry to write per prediction (a ranking stores one per item).
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions",
                                      db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="predictions", db_index=False)
    probabilities = models.JSONField()
    out_of_fold = models.BooleanField(default=False, help_text="From a model that did not train on this item.")
    embedding = models.JSONField(null=True, blank=True, help_text="Optional vector uploaded with the prediction.")

    class Meta:
        db_table = "labeling_prediction"  # kept from before the split into apps
        constraints = [models.UniqueConstraint(fields=["model_version", "item"], name="prediction_unique")]
        indexes = [models.Index(fields=["item", "-model_version"], name="prediction_latest")]
