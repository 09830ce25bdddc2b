"""API views: parse, call one service or selector, respond."""
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.members import member_add, member_remove
from core.models import Annotation, Item, Job, Membership, Role
from data.imports import retrain_after_import, start_import, start_url_import
from data.job_kinds import IMPORT
from data.one_pass import import_text
from data.parse import parse_records
from data.write import import_rows
from review.models import Flag

from . import schema
from .filters import AnnotationFilter, FinalLabelFilter, FlagFilter, ItemFilter, JobFilter, MemberFilter
from .parsers import CsvParser, JsonLinesParser, JsonParser, RawUpload
from .permissions import blind_items, checked_id, membership_for, project_for
from .serializers import (
    AnnotationSerializer,
    FinalLabelSerializer,
    FlagSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
    ItemSerializer,
    JobSerializer,
    MemberInSerializer,
    MemberSerializer,
)

ITEM_EXAMPLE = {"id": 42, "text": "battery died after a week", "source_name": "reviews.jsonl:3",
                "metadata": {"time": "night"}, "content_hash": "9f86d08…", "given_label": None,
                "final_label": "negative", "final_source": "consensus", "final_confidence": 1.0,
                "predicted_label": "negative", "predicted_confidence": 0.93, "label_quality": 0.93,
                "annotation_count": 2, "excluded": False, "ambiguous": False,
                "created_at": "2024-06-01T09:00:00Z", "updated_at": "2024-06-02T10:00:00Z"}


def _page(example: dict) -> dict:
    return {"next": "http://127.0.0.1:8000/api/...?cursor=cD0xMDA%3D", "previous": None, "results": [example]}


@extend_schema_view(get=extend_schema(
    summary="Members and their roles", responses={200: MemberSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page({"id": 3, "username": "alice", "role": "annotator"}),
                             response_only=True)]))
class MemberList(generics.ListAPIView):
    queryset = Membership.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = MemberSerializer
    filterset_class = MemberFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return Membership.objects.filter(project=project).select_related("user")

    @extend_schema(summary="Add a member, or change a member's role (managers)", request=MemberInSerializer,
                   responses={201: MemberSerializer, **schema.WRITE},
                   examples=[OpenApiExample("Add a reviewer", value={"username": "dana", "role": "reviewer"},
                                            request_only=True)])
    def post(self, request, project_id):
        project = project_for(request, project_id, Role.MANAGER)
        data = MemberInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = member_add(project=project, **data.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="Remove a member (managers)", request=None, responses={204: None, **schema.WRITE})
@api_view(["DELETE"])
def member_detail(request, project_id, username):
    project = project_for(request, project_id, Role.MANAGER)
    member_remove(project=project, username=username)
    return Response(status=status.HTTP_204_NO_CONTENT)


IMPORT_REQUEST = {
    "application/json": {"type": "array", "items": {"type": "object", "properties": {
        "text": {"type": "string"}, "label": {"type": "string"}}, "required": ["text"],
        "additionalProperties": True, "description": "Other fields are kept as metadata."}},
    "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"]},
    "application/x-ndjson": {"type": "string", "description": "One JSON object per line."},
    "text/csv": {"type": "string", "description": "A header with a `text` column."},
}


@extend_schema_view(get=extend_schema(
    summary="Items, oldest first, with filters",
    description="Filter by final label, source, status, open flag reason, annotator, metadata "
                "(`meta.time=night` or `metadata_key=time&metadata_value=night`) and `updated_since` for "
                "incremental sync. Unknown parameters are ignored. Annotators (blind labeling) see only the items "
                "they labeled; reviewers and managers see every item.",
    responses={200: ItemSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page(ITEM_EXAMPLE), response_only=True)]))
class ItemList(generics.ListAPIView):
    queryset = Item.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    parser_classes = [JsonParser, MultiPartParser, JsonLinesParser, CsvParser]

    def get_queryset(self):
        project, membership = membership_for(self.request, self.kwargs["project_id"])
        items = Item.objects.filter(project=project).select_related("final_label", "given_label", "rank__predicted_label")
        return blind_items(items, self.request, membership)

    @extend_schema(
        summary="Import items now, all or nothing (managers)",
        description="A JSON array, a JSONL body (`Content-Type: application/x-ndjson`), a CSV body "
                    "(`text/csv`), or a `.csv`/`.jsonl`/`.json` file in `file`. Every row is validated, in one "
                    "transaction: if any row is wrong, nothing is stored and every problem is listed with its "
                    "line; duplicates (same content, in the upload or already in the project) are skipped "
                    "and counted. For large files you can also start a background import at `imports/`.",
        request=IMPORT_REQUEST, responses={201: ImportResultSerializer, **schema.WRITE},
        examples=[OpenApiExample("Two texts", value=[{"text": "great phone", "label": "positive"},
                                                     {"text": "battery died", "shop": "A"}], request_only=True),
                  OpenApiExample("Result", value={"created": 2, "duplicates": 0, "labels_created": []},
                                 response_only=True)],
    )
    def post(self, request, project_id):
        project = project_for(request, project_id, Role.MANAGER)
        if isinstance(request.data, RawUpload):  # a JSONL or CSV body
            result = import_text(project=project, name=request.data.name, stream=request.data.stream)
        elif "file" in request.FILES:
            upload = request.FILES["file"]
            result = import_text(project=project, name=upload.name, stream=upload)
        elif isinstance(request.data, list):
            rows, errors = parse_records("request body", request.data)
            result = import_rows(project=project, rows=rows, errors=errors, name="request body")
        else:
            raise ValidationError("Send a JSON array of {\"text\": ..., \"label\": ...} objects or a 'file' upload.")
        retrain_after_import(project=project, result=result)
        return Response(ImportResultSerializer(result.as_dict()).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="Any other path under /api/: the JSON 404", responses={404: schema.NOT_FOUND[404]},
               exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(request, rest=""):
    raise Http404(f"No API endpoint at /api/{rest}; see /api/docs/ for the list.")


@extend_schema(summary="One item", responses={200: ItemSerializer, **schema.READ},
               examples=[OpenApiExample("An item", value=ITEM_EXAMPLE, response_only=True)])
@api_view(["GET"])
def item_detail(request, project_id, item_id):
    project, membership = membership_for(request, project_id)
    items = Item.objects.filter(project=project, pk=checked_id(item_id))
    item = (blind_items(items, request, membership)
            .select_related("final_label", "given_label", "rank__predicted_label").first())
    if item is None:
        raise Http404("No such item in this project")
    return Response(ItemSerializer(item).data)


JOB_EXAMPLE = {"id": 7, "project": 1, "kind": "import", "state": "running", "done": 5000, "total": 20000,
               "percent": 25, "message": "Writing 20,000 items", "error": "", "result": {},
               "created_at": "2024-06-01T09:00:00Z", "started_at": "2024-06-01T09:00:01Z", "finished_at": None}


@extend_schema_view(get=extend_schema(
    summary="Import jobs of the project", responses={200: JobSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page(JOB_EXAMPLE), response_only=True)]))
class ImportList(generics.ListAPIView):
    queryset = Job.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = JobSerializer
    filterset_class = JobFilter
    parser_classes = [MultiPartParser, JsonParser]

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return Job.objects.filter(project=project, kind=IMPORT)

    @extend_schema(summary="Import a file, uploaded or from a URL, in the background (managers)",
                   description="Send a `file`, or a `url` for the server to download (public addresses only, "
                               "checked on every redirect; needs `QUORUM_ALLOW_URL_IMPORT=True` on the server, "
                               "otherwise a 400 says so). Returns the job at once; poll `GET /api/jobs/{id}/` "
                               "for progress. The file is validated like an upload: nothing is written if a row "
                               "is wrong.",
                   request={"multipart/form-data": ImportUploadSerializer, "application/json": ImportUploadSerializer},
                   responses={202: JobSerializer, **schema.WRITE},
                   examples=[OpenApiExample("From a URL", value={"url": "https://data.example.org/reviews.jsonl"},
                                            request_only=True, media_type="application/json"),
                             OpenApiExample("Queued", value={**JOB_EXAMPLE, "state": "queued", "done": 0},
                                            response_only=True)])
    def post(self, request, project_id):
        project = project_for(request, project_id, Role.MANAGER)
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "url" in data.validated_data:
            job = start_url_import(project=project, url=data.validated_data["url"], user=request.user,
                                   queue_given=data.validated_data["queue_given"])
        else:
            job = start_import(project=project, uploaded=data.validated_data["file"], user=request.user,
                               queue_given=data.validated_data["queue_given"])
        job.refresh_from_db()
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(get=extend_schema(
    summary="Jobs of the project (imports, retrains, flag runs, exports)",
    responses={200: JobSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page(JOB_EXAMPLE), response_only=True)]))
class JobList(generics.ListAPIView):
    queryset = Job.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = JobSerializer
    filterset_class = JobFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return Job.objects.filter(project=project)


@extend_schema_view(get=extend_schema(
    summary="A job's state and progress", responses={200: JobSerializer, **schema.READ},
    examples=[OpenApiExample("Running", value=JOB_EXAMPLE, response_only=True)]))
class JobDetail(generics.RetrieveAPIView):
    serializer_class = JobSerializer

    def get_object(self):
        job = Job.objects.filter(pk=checked_id(self.kwargs["job_id"])).first()
        if job is None:
            raise Http404("No such job")
        project_for(self.request, job.project_id)
        return job


@extend_schema_view(get=extend_schema(
    summary="Annotations in force and superseded (reviewers)", responses={200: AnnotationSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page({
        "id": 9, "item": 42, "annotator": "alice", "label": "negative", "seconds": 4.2, "supersedes": None,
        "superseded": False, "created_at": "2024-06-01T09:00:00Z"}), response_only=True)]))
class AnnotationList(generics.ListAPIView):
    queryset = Annotation.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = AnnotationSerializer
    filterset_class = AnnotationFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"], Role.REVIEWER)
        return (Annotation.objects.filter(project=project).select_related("annotator", "label", "superseded_by")
                .only("id", "item_id", "annotator__username", "label__name", "seconds", "supersedes_id",
                      "superseded_by__id", "created_at"))


@extend_schema_view(get=extend_schema(
    summary="Final labels of labeled items",
    description="Use `updated_since` to sync only what changed. Annotators (blind labeling) get only the items "
                "they labeled.",
    responses={200: FinalLabelSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page({
        "item": 42, "label": "negative", "source": "consensus", "confidence": 1.0, "label_quality": 0.93,
        "ambiguous": False, "updated_at": "2024-06-02T10:00:00Z"}), response_only=True)]))
class FinalLabelList(generics.ListAPIView):
    queryset = Item.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = FinalLabelSerializer
    filterset_class = FinalLabelFilter

    def get_queryset(self):
        project, membership = membership_for(self.request, self.kwargs["project_id"])
        labeled = blind_items(Item.objects.filter(project=project, final_label__isnull=False), self.request, membership)
        return (labeled.select_related("final_label")
                .only("id", "final_label__name", "final_source", "final_confidence", "label_quality", "ambiguous",
                      "updated_at"))


@extend_schema_view(get=extend_schema(
    summary="Flags for review (reviewers)", responses={200: FlagSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value=_page({
        "id": 5, "item": 42, "reason": "model", "score": 0.91, "explanation": "The model gives 'positive' 0.91.",
        "suggested_label": "positive", "status": "open", "version": 1, "resolution": "",
        "created_at": "2024-06-01T09:00:00Z", "resolved_at": None}), response_only=True)]))
class FlagList(generics.ListAPIView):
    queryset = Flag.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = FlagSerializer
    filterset_class = FlagFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"], Role.REVIEWER)
        return Flag.objects.filter(project=project).select_related("suggested_label")
