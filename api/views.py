"""API views: parse, call one service or selector, respond."""
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.access import projects_for_user
from labeling.errors import QuorumError
from labeling.exports import csv_lines, export_rows, jsonl_lines
from labeling.importers import import_rows, parse_records, parse_upload
from labeling.models import Item, Job, Role
from review.models import Flag

from .permissions import project_for
from .serializers import FlagSerializer, ImportResultSerializer, ItemSerializer, JobSerializer, ProjectSerializer


class ProjectList(generics.ListAPIView):
    """Projects you are a member of."""

    serializer_class = ProjectSerializer

    def get_queryset(self):
        return projects_for_user(self.request.user).prefetch_related("labels").order_by("id")


class ProjectDetail(generics.RetrieveAPIView):
    serializer_class = ProjectSerializer

    def get_object(self):
        return project_for(self.request, self.kwargs["project_id"])


class ItemList(generics.ListAPIView):
    """Items of a project, oldest first; import new ones with POST (a JSON array, or a .csv/.jsonl file)."""

    serializer_class = ItemSerializer
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return Item.objects.filter(project=project).select_related("final_label", "given_label", "predicted_label")

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object", "properties": {
            "text": {"type": "string"}, "label": {"type": "string"}}, "required": ["text"]}},
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
        responses={201: ImportResultSerializer},
        examples=[OpenApiExample("Two texts", value=[{"text": "great phone", "label": "positive"},
                                                     {"text": "battery died", "source": "shop"}],
                                 request_only=True)],
    )
    def post(self, request, project_id):
        """Import items, all or nothing: every row is validated before anything is written."""
        project = project_for(request, project_id, Role.MANAGER)
        if "file" in request.FILES:
            upload = request.FILES["file"]
            rows, errors = parse_upload(upload.name, upload)
            name = upload.name
        elif isinstance(request.data, list):
            rows, errors = parse_records("request body", request.data)
            name = "request body"
        else:
            raise ValidationError("Send a JSON array of {\"text\": ..., \"label\": ...} objects or a 'file' upload.")
        result = import_rows(project=project, rows=rows, errors=errors, name=name)
        return Response(ImportResultSerializer(result.as_dict()).data, status=status.HTTP_201_CREATED)


class FlagList(generics.ListAPIView):
    serializer_class = FlagSerializer

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"], Role.REVIEWER)
        return Flag.objects.filter(project=project).select_related("suggested_label")


class JobDetail(generics.RetrieveAPIView):
    serializer_class = JobSerializer

    def get_object(self):
        job = Job.objects.filter(pk=self.kwargs["job_id"]).first()
        if job is None:
            from django.http import Http404

            raise Http404("No such job")
        project_for(self.request, job.project_id)
        return job


class IgnoreFormatNegotiation(BaseContentNegotiation):
    """``?format=`` names the export file format here, not a DRF renderer."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class Export(APIView):
    content_negotiation_class = IgnoreFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["jsonl", "csv"], default="jsonl")],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, project_id):
        """Stream one row per item: id, data reference, final label and source, annotations, latest probabilities."""
        project = project_for(request, project_id)
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise QuorumError(f"Unknown export format {fmt!r}: use jsonl or csv.")
        rows = export_rows(project)
        body, content_type = ((jsonl_lines(rows), "application/x-ndjson") if fmt == "jsonl"
                              else (csv_lines(rows), "text/csv"))
        response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="project-{project.pk}.{fmt}"'
        return response
