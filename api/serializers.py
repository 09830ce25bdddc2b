"""API serializers: shapes only, no business logic."""
from rest_framework import serializers

from labeling.models import Item, Job, Label, Project
from review.models import Flag


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "key", "order"]


class ProjectSerializer(serializers.ModelSerializer):
    labels = LabelSerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "kind", "multi_label", "guidelines", "overlap", "retrain_every", "query_strategy",
                  "labels", "created_at"]


class ItemSerializer(serializers.ModelSerializer):
    final_label = serializers.SlugRelatedField(slug_field="name", read_only=True)
    given_label = serializers.SlugRelatedField(slug_field="name", read_only=True)
    predicted_label = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Item
        fields = ["id", "text", "source_name", "metadata", "content_hash", "given_label", "final_label",
                  "final_source", "final_confidence", "predicted_label", "predicted_confidence", "label_quality",
                  "annotation_count", "excluded", "ambiguous", "created_at", "updated_at"]


class ItemInSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    label = serializers.CharField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False)


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    labels_created = serializers.ListField(child=serializers.CharField())


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = ["id", "project", "kind", "state", "done", "total", "percent", "message", "error", "result",
                  "created_at", "started_at", "finished_at"]


class FlagSerializer(serializers.ModelSerializer):
    suggested_label = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Flag
        fields = ["id", "item", "reason", "score", "explanation", "suggested_label", "status", "version",
                  "resolution", "created_at", "resolved_at"]


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)
