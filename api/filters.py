"""FilterSets for every API list: only the fields declared here filter; any other parameter is ignored."""
import datetime
import re

import django_filters as filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError

from core import jobs
from core.models import Annotation, Item, Job, LabelSource, Membership, Role
from data.models import DatasetVersion
from learning.models import ModelVersion, Prediction
from review.models import Flag

META_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
META_PREFIX = "meta."
ID_RANGE = {"min_value": 1, "max_value": 2**63 - 1}  # out-of-range ids are a 400, not a database error
QUALITY_RANGE = {"min_value": 0, "max_value": 1}


# RFC 3339 date-time, as the schema's `format: date-time` says: seconds and a time zone required.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)


class Rfc3339Field(IsoDateTimeField):
    def to_python(self, value):
        if isinstance(value, str) and not RFC3339.fullmatch(value):
            raise forms.ValidationError(f"Not an RFC 3339 time: {value[:40]!r}; use e.g. 2024-06-01T00:00:00Z "
                                        "(seconds and a time zone required).", code="invalid")
        return super().to_python(value)


class StrictBooleanFormField(forms.Field):
    """A query parameter the schema calls boolean: `true` or `false`, nothing else ("null", "1", "yes")."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError(f"Use true or false, not {str(value)[:20]!r}.", code="invalid")


class StrictFilterSet(filters.FilterSet):
    """A typed filter (a choice, number, boolean or time) sent empty is a 400, as the schema says: leave the
    parameter out to not filter. Text filters may be empty."""

    def is_valid(self):
        valid = super().is_valid()
        for name, declared in self.filters.items():
            if not isinstance(declared, filters.CharFilter) and name in self.data and self.data.get(name) == "":
                self.form.add_error(name, "Empty value: leave the parameter out to not filter on it.")
                valid = False
        return valid


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanFormField


class SinceFilter(filters.IsoDateTimeFilter):
    """`>=` an RFC 3339 time, sent to the database in UTC (it refuses offsets beyond ±15:59)."""

    field_class = Rfc3339Field

    def __init__(self, *args, **kwargs):
        super().__init__(*args, lookup_expr="gte", **kwargs)

    def filter(self, qs, value):
        if value:
            try:
                value = value.astimezone(datetime.UTC)
            except OverflowError as exc:
                raise ValidationError({self.field_name: ["Time out of range."]}) from exc
        return super().filter(qs, value)


class ItemFilter(StrictFilterSet):
    label = filters.CharFilter(field_name="final_label__name", help_text="Final label name.")
    given_label = filters.CharFilter(field_name="given_label__name")
    predicted_label = filters.CharFilter(field_name="rank__predicted_label__name")
    source = filters.ChoiceFilter(field_name="final_source", choices=LabelSource.choices,
                                  help_text="Source of the final label.")
    status = filters.ChoiceFilter(method="filter_status", choices=[
        ("open", "Waiting for annotators"), ("labeled", "Has a final label"), ("unlabeled", "No final label"),
        ("excluded", "Excluded"), ("ambiguous", "Marked ambiguous")])
    flag_reason = filters.ChoiceFilter(method="filter_flag_reason", choices=Flag.Reason.choices,
                                       help_text="Items with an open flag of this reason.")
    annotator = filters.CharFilter(method="filter_annotator", help_text="Items this username annotated.")
    metadata_key = filters.CharFilter(method="filter_noop", help_text="Metadata field name (with metadata_value); "
                                      "or use `meta.<key>=<value>`, e.g. `meta.time=night`.")
    metadata_value = filters.CharFilter(method="filter_noop", help_text="Value of the metadata field, as text.")
    updated_since = SinceFilter(field_name="updated_at",
                                              help_text="Incremental sync: items changed at or after this time.")
    min_quality = filters.NumberFilter(field_name="label_quality", lookup_expr="gte", **QUALITY_RANGE)

    class Meta:
        model = Item
        fields = []

    def filter_status(self, qs, name, value):
        return qs.filter({
            "open": Q(annotation_count__lt=F("needed"), excluded=False), "labeled": Q(final_label__isnull=False),
            "unlabeled": Q(final_label__isnull=True), "excluded": Q(excluded=True), "ambiguous": Q(ambiguous=True),
        }[value])

    def filter_flag_reason(self, qs, name, value):
        return qs.filter(Exists(Flag.objects.filter(item=OuterRef("pk"), reason=value, status=Flag.Status.OPEN)))

    def filter_annotator(self, qs, name, value):
        return qs.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator__username=value)))

    def filter_noop(self, qs, name, value):
        return qs  # metadata_key/metadata_value are applied together in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        pairs = [(k[len(META_PREFIX):], v) for k, v in self.data.items() if k.startswith(META_PREFIX)]
        key, value = self.data.get("metadata_key"), self.data.get("metadata_value")
        if key or value:
            if not key or value is None:
                raise ValidationError({"metadata_key": ["Give both metadata_key and metadata_value."]})
            pairs.append((key, value))
        for n, (key, value) in enumerate(pairs):
            if "\x00" in value:
                raise ValidationError({"metadata": ["Metadata values cannot contain NUL characters."]})
            if not META_KEY.match(key):
                raise ValidationError({"metadata": [f"Metadata key {key!r} must be 1-100 letters, digits, '_' or '-'."]})
            # Cast: compare as plain text, so a key's value is never parsed as a lookup or as JSON.
            text = Cast(KeyTextTransform(key, "metadata"), TextField())
            queryset = queryset.annotate(**{f"_meta{n}": text}).filter(**{f"_meta{n}": value})
        return queryset


class FinalLabelFilter(StrictFilterSet):
    label = filters.CharFilter(field_name="final_label__name")
    source = filters.ChoiceFilter(field_name="final_source", choices=LabelSource.choices)
    updated_since = SinceFilter(field_name="updated_at")
    min_quality = filters.NumberFilter(field_name="label_quality", lookup_expr="gte", **QUALITY_RANGE)

    class Meta:
        model = Item
        fields = []


class AnnotationFilter(StrictFilterSet):
    annotator = filters.CharFilter(field_name="annotator__username")
    label = filters.CharFilter(field_name="label__name")
    item = filters.NumberFilter(field_name="item_id", **ID_RANGE)
    created_since = SinceFilter(field_name="created_at")

    class Meta:
        model = Annotation
        fields = []


class FlagFilter(StrictFilterSet):
    reason = filters.ChoiceFilter(choices=Flag.Reason.choices)
    status = filters.ChoiceFilter(choices=Flag.Status.choices)
    label = filters.CharFilter(field_name="item__final_label__name", help_text="Final label of the flagged item.")
    item = filters.NumberFilter(field_name="item_id", **ID_RANGE)
    created_since = SinceFilter(field_name="created_at")

    class Meta:
        model = Flag
        fields = []


class MemberFilter(StrictFilterSet):
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = []


class ModelVersionFilter(StrictFilterSet):
    origin = filters.ChoiceFilter(choices=ModelVersion.Origin.choices)
    created_since = SinceFilter(field_name="created_at")

    class Meta:
        model = ModelVersion
        fields = []


class PredictionFilter(StrictFilterSet):
    model_version = filters.CharFilter(field_name="model_version__name")
    item = filters.NumberFilter(field_name="item_id", **ID_RANGE)
    label = filters.CharFilter(field_name="item__rank__predicted_label__name",
                               help_text="Item's current predicted label.")

    class Meta:
        model = Prediction
        fields = []


class DatasetVersionFilter(StrictFilterSet):
    name = filters.CharFilter()
    created_since = SinceFilter(field_name="created_at")

    class Meta:
        model = DatasetVersion
        fields = []


def job_kind_choices() -> list[tuple[str, str]]:
    return [(k.name, k.label) for k in jobs.KINDS.values()]


class JobFilter(StrictFilterSet):
    kind = filters.ChoiceFilter(choices=job_kind_choices)
    state = filters.ChoiceFilter(choices=Job.State.choices)

    class Meta:
        model = Job
        fields = []
