"""API views for dataset versions and streaming exports (JSONL, CSV, COCO) of a version or the live labels."""
import dataclasses

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.decorators import api_view
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Project, Role
from data.datasets import NAME_RE, version_create, version_diff, version_rows
from data.exports import (
    CSV_FIELDS,
    FORMATS,
    VERSION_CSV_FIELDS,
    ExportFilters,
    coco_chunks,
    csv_lines,
    export_rows,
    jsonl_lines,
    link_base,
)
from data.models import DatasetVersion
from quorum.lib.errors import QuorumError

from . import schema
from .filters import DatasetVersionFilter
from .permissions import membership_for, project_for
from .serializers import DatasetVersionInSerializer, DatasetVersionSerializer, DiffSerializer

VERSION_EXAMPLE = {"id": 3, "name": "v3", "description": "after the June review round",
                   "content_hash": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
                   "item_count": 1200, "class_counts": {"positive": 700, "negative": 400, "neutral": 100},
                   "source_counts": {"annotator": 900, "consensus": 250, "reviewer": 50},
                   "split_counts": {"train": 962, "validation": 118, "test": 120}, "created_by": "manager",
                   "created_at": "2024-06-01T09:00:00Z"}

EXPORT_PARAMETERS = [
    OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS), default="jsonl",
                     description="`coco` is COCO-style JSON for image projects."),
    OpenApiParameter("min_quality", OpenApiTypes.FLOAT, description="Keep rows with label quality at least this."),
    OpenApiParameter("sources", OpenApiTypes.STR, description="Comma-separated label sources, e.g. `annotator,reviewer`."),
    OpenApiParameter("classes", OpenApiTypes.STR, description="Comma-separated class names."),
    OpenApiParameter("exclude_ambiguous", OpenApiTypes.BOOL, default=False),
]
EXPORT_RESPONSES = {(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR,
                    (200, "application/json"): OpenApiTypes.OBJECT, **schema.READ}
ROW_EXAMPLE = ('{"annotations": [{"annotator": "alice", "created_at": "2024-06-01T09:00:00+00:00", "label": "negative"}], '
               '"data": "battery died", "final_confidence": 1.0, "final_label": "negative", "final_source": "consensus", '
               '"id": 42, "label_quality": 0.93, "metadata": {"time": "night"}, "split": "train", '
               '"url": "http://127.0.0.1:8000/items/42/"}')


def _bool(value: str | None, name: str) -> bool:
    """The schema says boolean: `true` or `false` (absent means false)."""
    if value in (None, "false"):
        return False
    if value == "true":
        return True
    raise QuorumError(f"'{name}' must be true or false, got {value!r}.")


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _filters(request, project: Project, *, version: bool) -> ExportFilters:
    params = request.query_params
    min_quality = params.get("min_quality")
    try:
        min_quality = float(min_quality) if min_quality not in (None, "") else None
    except ValueError as exc:
        raise QuorumError(f"'min_quality' must be a number between 0 and 1, got {min_quality!r}.") from exc
    if min_quality is not None and not 0 <= min_quality <= 1:
        raise QuorumError(f"'min_quality' must be a number between 0 and 1, got {min_quality!r}.")
    return ExportFilters(min_quality=min_quality, sources=_csv(params.get("sources")),
                         classes=_csv(params.get("classes")),
                         exclude_ambiguous=_bool(params.get("exclude_ambiguous"), "exclude_ambiguous"),
                         labeled_only=_bool(params.get("labeled_only"), "labeled_only"),
                         splits=_csv(params.get("splits")) if version else ()).check(project)


def _stream(project: Project, fmt: str, rows_factory, csv_fields: list[str], filename: str) -> StreamingHttpResponse:
    if fmt not in FORMATS:
        raise QuorumError(f"Unknown export format {fmt!r}: use jsonl or csv (or coco for image projects).")
    if fmt == "coco":
        if not project.is_image:
            raise QuorumError("COCO export is for image projects; use format=jsonl or csv for text.")
        body = coco_chunks(rows_factory, [lab.name for lab in project.labels.all()])
    elif fmt == "csv":
        body = csv_lines(rows_factory(), csv_fields)
    else:
        body = jsonl_lines(rows_factory())
    response = StreamingHttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{"json" if fmt == "coco" else fmt}"'
    return response


class ExportNegotiation(DefaultContentNegotiation):
    """Here `?format=` picks the export's file type, not a DRF renderer; errors are still JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(APIView):
    content_negotiation_class = ExportNegotiation


@extend_schema(summary="Stream the live labels", parameters=[*EXPORT_PARAMETERS, OpenApiParameter(
    "labeled_only", OpenApiTypes.BOOL, default=False, description="Only non-excluded items with a final label.")],
    responses=EXPORT_RESPONSES,
    description="One row per item in id order: data, final label, its source, consensus confidence, label "
                "quality, the annotations, the latest model's probabilities and a stable item URL (built from "
                "the host you called, or SITE_URL when the server sets it). Streamed in chunks, so memory "
                "stays flat at any size. Annotators (blind labeling) get only the items they labeled, with "
                "only their own annotations; reviewers and managers get everything. In CSV, a text cell "
                "starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so a "
                "spreadsheet shows it as text (JSONL is unchanged).",
    examples=[OpenApiExample("A JSONL row", value=ROW_EXAMPLE, response_only=True, media_type="application/x-ndjson")])
class Export(ExportView):
    def get(self, request, project_id):
        project, membership = membership_for(request, project_id)
        filters = _filters(request, project, version=False)
        if not membership.allows(Role.REVIEWER):  # blind labeling: an annotator sees only their own work
            filters = dataclasses.replace(filters, annotator_id=request.user.pk)
        site = link_base(request.build_absolute_uri("/"))
        return _stream(project, request.query_params.get("format", "jsonl"),
                       lambda: export_rows(project, filters, site=site), CSV_FIELDS, f"project-{project.pk}")


@extend_schema_view(get=extend_schema(
    summary="Dataset versions of the project", responses={200: DatasetVersionSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value={"next": None, "previous": None, "results": [VERSION_EXAMPLE]},
                             response_only=True)]))
class VersionList(generics.ListAPIView):
    queryset = DatasetVersion.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = DatasetVersionSerializer
    filterset_class = DatasetVersionFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return DatasetVersion.objects.filter(project=project).select_related("created_by")

    @extend_schema(
        summary="Freeze the current final labels into a new version (managers)",
        description="Takes every non-excluded item with a final label. The content hash is sha256 over the "
                    "rows (item content hash and label) sorted by item content hash, so the same content always "
                    "gets the same hash. Each item's train/validation/test split (80/10/10) comes from its "
                    "content hash, so an item stays in its split across versions.",
        request=DatasetVersionInSerializer, responses={201: DatasetVersionSerializer, **schema.WRITE},
        examples=[OpenApiExample("Name it", value={"name": "v3", "description": "after the June review round"},
                                 request_only=True),
                  OpenApiExample("Created", value=VERSION_EXAMPLE, response_only=True)])
    def post(self, request, project_id):
        project = project_for(request, project_id, Role.MANAGER)
        data = DatasetVersionInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = version_create(project=project, user=request.user, **data.validated_data)
        return Response(DatasetVersionSerializer(version).data, status=status.HTTP_201_CREATED)


def _version(request, project_id, name: str, role: str = Role.ANNOTATOR) -> tuple[Project, DatasetVersion]:
    project = project_for(request, project_id, role)
    version = None
    if NAME_RE.fullmatch(name):  # names are checked at creation; anything else (even a NUL byte) cannot exist
        version = DatasetVersion.objects.filter(project=project, name=name).select_related("created_by").first()
    if version is None:
        raise Http404(f"No version named {name!r} in this project")
    return project, version


@extend_schema(summary="One dataset version", responses={200: DatasetVersionSerializer, **schema.READ},
               examples=[OpenApiExample("v3", value=VERSION_EXAMPLE, response_only=True)])
@api_view(["GET"])
def version_detail(request, project_id, version):
    _, found = _version(request, project_id, version)
    return Response(DatasetVersionSerializer(found).data)


@extend_schema(
    summary="What changed between two versions (reviewers)",
    parameters=[OpenApiParameter("limit", OpenApiTypes.INT, default=1000,
                                 description="At most this many items listed per change kind (max 10000).")],
    responses={200: DiffSerializer, **schema.READ},
    examples=[OpenApiExample("v2 to v3", response_only=True, value={
        "old": "v2", "new": "v3",
        "added": {"count": 1, "items": [{"item": 51, "label": "positive"}], "truncated": False},
        "removed": {"count": 0, "items": [], "truncated": False},
        "relabelled": {"count": 1, "items": [{"item": 42, "old_label": "positive", "new_label": "negative"}],
                       "truncated": False},
        "class_shift": {"classes": [{"label": "positive", "old_count": 10, "new_count": 10, "old_share": 0.5,
                                     "new_share": 0.4762, "share_change": -0.0238}],
                        "total_variation_distance": 0.0238}})])
@api_view(["GET"])
def version_diff_view(request, project_id, version, other):
    _, old = _version(request, project_id, version, Role.REVIEWER)
    _, new = _version(request, project_id, other, Role.REVIEWER)
    try:
        limit = min(max(int(request.query_params.get("limit", 1000)), 0), 10_000)
    except ValueError as exc:
        raise QuorumError("'limit' must be an integer.") from exc
    return Response(version_diff(old=old, new=new, limit=limit))


@extend_schema(
    summary="Stream a version: byte-for-byte the same on every download (reviewers)",
    parameters=[*EXPORT_PARAMETERS, OpenApiParameter("splits", OpenApiTypes.STR,
                                                     description="Comma-separated: train, validation, test.")],
    responses=EXPORT_RESPONSES,
    description="Built only from the version's frozen rows (label, source, confidence, quality, split, "
                "annotations at freezing time) and the items' immutable data; the `X-Content-Hash` header "
                "carries the version's content hash. Links are built like the live export's; CSV cells are "
                "escaped the same way.",
    examples=[OpenApiExample("A JSONL row", value=ROW_EXAMPLE, response_only=True, media_type="application/x-ndjson")])
class VersionExport(ExportView):
    def get(self, request, project_id, version):
        project, found = _version(request, project_id, version, Role.REVIEWER)
        filters = _filters(request, project, version=True)
        site = link_base(request.build_absolute_uri("/"))
        response = _stream(project, request.query_params.get("format", "jsonl"),
                           lambda: version_rows(found, filters, site=site), VERSION_CSV_FIELDS,
                           f"project-{project.pk}-{found.name}")
        response["X-Content-Hash"] = found.content_hash
        return response
