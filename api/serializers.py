"""API serializers: shapes only, no business logic."""
from rest_framework import serializers

from core.models import Annotation, Item, Job, Label, Membership, Project, Role
from core.project_settings import BOUNDS
from data.models import DatasetVersion
from health.models import Finding
from learning.models import ModelVersion, Prediction
from ml.active import DEFAULT_STRATEGY, STRATEGY_CHOICES
from review.models import Flag


class StrictCharField(serializers.CharField):
    """A JSON string, and only a string: DRF's CharField would turn 7 or true into "7" or "True", which the
    schema (`type: string`) does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: not "5", not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number only: not "0.5", not false."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: not 1, not "yes"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "key", "order"]


class ProjectSerializer(serializers.ModelSerializer):
    labels = LabelSerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "kind", "multi_label", "guidelines", "overlap", "retrain_every", "query_strategy",
                  "adjudication_k", "consensus_threshold", "auto_accept", "auto_accept_target",
                  "auto_accept_spot_check_rate", "labels", "created_at"]


def _bounded(field: str, **kwargs):
    low, high = BOUNDS[field]
    kind = StrictFloatField if isinstance(low, float) else StrictIntegerField
    return kind(min_value=low, max_value=high, **kwargs)


class ProjectSettingsSerializer(serializers.Serializer):
    """What a manager may change after creation; every field optional (PATCH)."""

    labels = serializers.ListField(
        child=StrictCharField(max_length=100), max_length=29, required=False,
        help_text="Label names in key order. On update, list the current labels first, then new ones: labels "
                  "are only appended (annotations point at them).")
    guidelines = StrictCharField(required=False, allow_blank=True, max_length=100_000, help_text="Markdown.")
    overlap = _bounded("overlap", required=False, help_text="Distinct annotators per item; fixed once labeling "
                       "has started (409).")
    retrain_every = _bounded("retrain_every", required=False, help_text="Retrain after this many new labels.")
    query_strategy = serializers.ChoiceField(choices=STRATEGY_CHOICES, required=False,
                                             help_text="How the queue is ordered once a model exists.")
    adjudication_k = _bounded("adjudication_k", required=False,
                              help_text="Extra blind labels per disputed item a reviewer escalates.")
    consensus_threshold = _bounded("consensus_threshold", required=False,
                                   help_text="Below this consensus confidence, a reviewer decides.")
    auto_accept = StrictBooleanField(required=False, help_text="Let the model label items it is sure of.")
    auto_accept_target = StrictFloatField(min_value=0.5, max_value=0.999, required=False,
                                                help_text="Precision auto-accepted labels must reach.")
    auto_accept_spot_check_rate = StrictFloatField(min_value=0.0, max_value=1.0, required=False,
                                                         help_text="Share of auto-accepted items still labeled by "
                                                                   "an annotator as a spot check.")


class ProjectInSerializer(ProjectSettingsSerializer):
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=Project.Kind.choices)
    labels = serializers.ListField(child=StrictCharField(max_length=100), max_length=29, default=list,
                                   help_text="Label names in key order (keys 1-9, 0, then letters). May be empty "
                                             "for an image import whose sub-folders are the labels.")
    guidelines = StrictCharField(required=False, allow_blank=True, max_length=100_000, default="")
    overlap = _bounded("overlap", default=1, help_text="Distinct annotators per item.")
    retrain_every = _bounded("retrain_every", default=50, help_text="Retrain after this many new labels.")
    query_strategy = serializers.ChoiceField(choices=STRATEGY_CHOICES, default=DEFAULT_STRATEGY)
    adjudication_k = _bounded("adjudication_k", default=2)
    consensus_threshold = _bounded("consensus_threshold", default=0.7)


class FindingSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="check_name", read_only=True)
    created_at = serializers.DateTimeField(source="report.created_at", read_only=True)
    dismissed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Finding
        fields = ["id", "report", "check", "key", "severity", "title", "count", "explanation", "item_ids",
                  "params", "dismissed", "dismissed_reason", "dismissed_by", "created_at"]


class ItemSerializer(serializers.ModelSerializer):
    final_label = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    given_label = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    # The pre-label lives on the item's rank row (core.models.ItemRank).
    predicted_label = serializers.SlugRelatedField(source="rank.predicted_label", slug_field="name", read_only=True,
                                                   allow_null=True)
    predicted_confidence = serializers.FloatField(source="rank.predicted_confidence", read_only=True, allow_null=True)

    class Meta:
        model = Item
        fields = ["id", "text", "source_name", "metadata", "content_hash", "given_label", "final_label",
                  "final_source", "final_confidence", "predicted_label", "predicted_confidence", "label_quality",
                  "annotation_count", "excluded", "ambiguous", "created_at", "updated_at"]


class ConflictSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    labels = serializers.DictField(child=serializers.IntegerField(), help_text="Given label: copies that carried it.")
    label = serializers.CharField(allow_null=True, help_text="The given label the item keeps (the majority).")


class SkippedFileSerializer(serializers.Serializer):
    file = serializers.CharField()
    reason = serializers.CharField()


class DuplicateRowSerializer(serializers.Serializer):
    row = serializers.CharField(help_text='Where the row was: "tickets.csv, line 7" or "photos.zip/red/a.jpg".')
    item = serializers.IntegerField(help_text="The item it is a copy of.")


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="Rows whose content was already in the upload or the project.")
    labels_created = serializers.ListField(child=serializers.CharField())
    labeled = serializers.IntegerField(required=False, help_text="Items that got a new given label.")
    conflicting_duplicates = serializers.IntegerField(
        required=False, help_text="Items whose exact copies arrived with different given labels; each is flagged "
                                  "for review.")
    conflicts = ConflictSerializer(many=True, required=False)
    duplicate_rows = DuplicateRowSerializer(many=True, required=False, help_text=(
        "The rows that added no item because their content was already in the upload or the project, each with "
        "the item it is a copy of (first 1,000)."))
    skipped = SkippedFileSerializer(many=True, required=False, help_text="Unreadable files left out (first 1,000).")
    skipped_count = serializers.IntegerField(required=False)
    notes = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text="What the import decided for you, e.g. a wrapping folder it looked into.")


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = ["id", "project", "kind", "state", "done", "total", "percent", "message", "error", "result",
                  "created_at", "started_at", "finished_at"]


class FlagSerializer(serializers.ModelSerializer):
    suggested_label = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Flag
        fields = ["id", "item", "reason", "score", "explanation", "suggested_label", "status", "version",
                  "resolution", "created_at", "resolved_at"]


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorSerializer()


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role"]


class MemberInSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class AnnotationSerializer(serializers.ModelSerializer):
    annotator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    label = serializers.SlugRelatedField(slug_field="name", read_only=True)
    superseded = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = ["id", "item", "annotator", "label", "seconds", "supersedes", "superseded", "created_at"]

    def get_superseded(self, obj) -> bool:
        return hasattr(obj, "superseded_by")


class FinalLabelSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="id", read_only=True)
    label = serializers.SlugRelatedField(source="final_label", slug_field="name", read_only=True)
    source = serializers.CharField(source="final_source", read_only=True)
    confidence = serializers.FloatField(source="final_confidence", read_only=True, allow_null=True)

    class Meta:
        model = Item
        fields = ["item", "label", "source", "confidence", "label_quality", "ambiguous", "updated_at"]


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "origin", "algorithm", "params", "n_train", "cv_accuracy", "metrics", "created_at"]


class PredictionSerializer(serializers.ModelSerializer):
    model_version = serializers.SlugRelatedField(slug_field="name", read_only=True)
    probabilities = serializers.ListField(child=serializers.FloatField())
    embedding = serializers.ListField(child=serializers.FloatField(), allow_null=True)

    class Meta:
        model = Prediction
        fields = ["id", "item", "model_version", "probabilities", "out_of_fold", "embedding"]


class PredictionRowSerializer(serializers.Serializer):
    item = StrictIntegerField()
    probabilities = serializers.JSONField(help_text="A list in the project's label order, or {label name: p}.")
    embedding = serializers.ListField(child=StrictFloatField(), required=False)


class PredictionUploadSerializer(serializers.Serializer):
    model_version = StrictCharField(max_length=200)
    params = serializers.DictField(required=False)
    predictions = PredictionRowSerializer(many=True)


class PredictionResultSerializer(serializers.Serializer):
    model_version = ModelVersionSerializer()
    predictions = serializers.IntegerField()


class DatasetVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DatasetVersion
        fields = ["id", "name", "description", "content_hash", "item_count", "class_counts", "source_counts",
                  "split_counts", "created_by", "created_at"]


class DatasetVersionInSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    description = StrictCharField(required=False, allow_blank=True, default="")


class DiffEntrySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    items = serializers.ListField(child=serializers.DictField())
    truncated = serializers.BooleanField()


class ClassShiftSerializer(serializers.Serializer):
    classes = serializers.ListField(child=serializers.DictField())
    total_variation_distance = serializers.FloatField()


class DiffSerializer(serializers.Serializer):
    old = serializers.CharField()
    new = serializers.CharField()
    added = DiffEntrySerializer()
    removed = DiffEntrySerializer()
    relabelled = DiffEntrySerializer()
    class_shift = ClassShiftSerializer()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text=".csv, .jsonl or .json (text projects), .zip (image projects)")
    url = serializers.URLField(required=False, max_length=2000, help_text=(
        "Instead of `file`: an http(s) URL of a .csv, .jsonl, .json or .zip file on a public server, downloaded by the "
        "server (only when QUORUM_ALLOW_URL_IMPORT=True)."))
    queue_given = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        # A form field sent empty is dropped by DRF; `url=""` next to a file is still a malformed request.
        if any(name in self.initial_data and name not in attrs for name in ("file", "url")):
            raise serializers.ValidationError({"url": ["Leave out 'url' (or 'file') entirely instead of sending it "
                                                       "empty; send either a 'file' upload or a 'url'."]})
        if ("file" in attrs) == ("url" in attrs):
            raise serializers.ValidationError("Send either a 'file' upload or a 'url' to download, not both.")
        return attrs
