"""API for the whole loop of a project: create and configure it, retrain, search mislabels, check data health."""
import django_filters as filters
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from core.access import projects_for_user
from core.models import Project, Role
from core.project_settings import project_update
from core.services import project_create, project_creation_refused
from health.models import Finding
from health.services import latest_report, request_health
from learning import autoaccept
from learning.schedule import request_retrain
from quorum.lib.errors import NotAllowed
from review.services import request_flag_run

from . import schema
from .filters import StrictBooleanFilter, StrictFilterSet
from .permissions import project_for
from .serializers import (
    FindingSerializer,
    JobSerializer,
    ProjectInSerializer,
    ProjectSerializer,
    ProjectSettingsSerializer,
)

PROJECT_EXAMPLE = {"id": 1, "name": "Reviews", "kind": "text", "multi_label": False, "guidelines": "# Be kind",
                   "overlap": 1, "retrain_every": 50, "query_strategy": "margin_diverse_balanced",
                   "adjudication_k": 2, "consensus_threshold": 0.7, "auto_accept": False, "auto_accept_target": 0.98,
                   "auto_accept_spot_check_rate": 0.05,
                   "labels": [{"id": 1, "name": "positive", "key": "1", "order": 0}], "created_at": "2024-06-01T09:00:00Z"}
JOB_EXAMPLE = {"id": 12, "project": 1, "kind": "retrain", "state": "queued", "done": 0, "total": 0, "percent": 0,
               "message": "", "error": "", "result": {}, "created_at": "2024-06-01T09:00:00Z", "started_at": None,
               "finished_at": None}
AUTO_ACCEPT = ("auto_accept", "auto_accept_target", "auto_accept_spot_check_rate")


def _page(example: dict) -> dict:
    return {"next": "http://127.0.0.1:8000/api/...?cursor=cD0xMDA%3D", "previous": None, "results": [example]}


@transaction.atomic
def _configure(project: Project, data: dict) -> Project:
    """Core settings through core's service, auto-accept through learning's (it starts a new period)."""
    aa = {k: data.pop(k) for k in AUTO_ACCEPT if k in data}
    project = project_update(project=project, **data)
    if aa:
        autoaccept.configure(project=project, enabled=aa.get("auto_accept", project.auto_accept),
                             target=aa.get("auto_accept_target", project.auto_accept_target),
                             spot_check_rate=aa.get("auto_accept_spot_check_rate", project.auto_accept_spot_check_rate))
    return Project.objects.prefetch_related("labels").get(pk=project.pk)


@extend_schema_view(get=extend_schema(
    summary="Projects you are a member of", responses={200: ProjectSerializer(many=True), **schema.AUTH, **schema.NOT_FOUND},
    examples=[OpenApiExample("A page", value=_page(PROJECT_EXAMPLE), response_only=True)]))
class ProjectList(generics.ListAPIView):
    queryset = Project.objects.none()  # for the schema; get_queryset scopes to the user
    serializer_class = ProjectSerializer

    def get_queryset(self):
        return projects_for_user(self.request.user).prefetch_related("labels").order_by("id")

    @extend_schema(
        summary="Create a project; you become its manager",
        description="Labels get keys in order (1-9, 0, then letters). Every setting but `name` and `kind` has a "
                    "default; change them later with `PATCH /api/projects/{id}/`.",
        request=ProjectInSerializer, responses={201: ProjectSerializer, **schema.BAD_REQUEST, **schema.AUTH,
                                                 **schema.FORBIDDEN},
        examples=[OpenApiExample("Support tickets", request_only=True, value={
            "name": "Support tickets", "kind": "text", "labels": ["billing", "bug", "other"], "overlap": 2,
            "query_strategy": "margin", "adjudication_k": 2, "consensus_threshold": 0.8}),
            OpenApiExample("Created", value=PROJECT_EXAMPLE, response_only=True)])
    def post(self, request):
        refused = project_creation_refused(request.user)  # the same rule as the web form (QUORUM_PROJECT_CREATORS)
        if refused:
            raise NotAllowed(refused)
        data = ProjectInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        with transaction.atomic():
            project = project_create(name=values.pop("name"), kind=values.pop("kind"), labels=values.pop("labels"),
                                     owner=request.user, guidelines=values.pop("guidelines"),
                                     overlap=values.pop("overlap"), retrain_every=values.pop("retrain_every"))
            project = _configure(project, values)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(
    summary="One project with its labels and settings", responses={200: ProjectSerializer, **schema.READ},
    examples=[OpenApiExample("Reviews", value=PROJECT_EXAMPLE, response_only=True)]))
class ProjectDetail(generics.RetrieveAPIView):
    serializer_class = ProjectSerializer

    def get_object(self):
        return project_for(self.request, self.kwargs["project_id"])

    @extend_schema(
        summary="Change settings (managers)",
        description="Send only what changes. Labels are appended, never renamed or removed: list the current "
                    "labels first. Overlap is fixed once an item has an annotation (409).",
        request=ProjectSettingsSerializer, responses={200: ProjectSerializer, **schema.WRITE},
        examples=[OpenApiExample("Stricter consensus", request_only=True,
                                 value={"consensus_threshold": 0.8, "query_strategy": "entropy"})])
    def patch(self, request, project_id):
        project = project_for(request, project_id, Role.MANAGER)
        data = ProjectSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = _configure(project, dict(data.validated_data))
        return Response(ProjectSerializer(project).data)


def _job_response(job) -> Response:
    job.refresh_from_db()
    return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(summary="Retrain the model now (managers)",
               description="Returns the job to poll at `GET /api/jobs/{id}/`. If a retrain is already queued or "
                           "running, that job is returned (a running one runs once more with the new labels).",
               request=None, responses={202: JobSerializer, **schema.READ},
               examples=[OpenApiExample("Queued", value=JOB_EXAMPLE, response_only=True)])
@api_view(["POST"])
def retrain(request, project_id):
    project = project_for(request, project_id, Role.MANAGER)
    return _job_response(request_retrain(project=project, user=request.user))


@extend_schema(summary="Search for mislabeled items now (reviewers)",
               description="Out-of-fold ensemble and confident learning over the latest model; new suspects become "
                           "flags. Needs a model (400 before the first retrain). Returns the job to poll; one runs "
                           "at a time per project.",
               request=None, responses={202: JobSerializer, **schema.READ},
               examples=[OpenApiExample("Queued", value={**JOB_EXAMPLE, "kind": "flag", "total": 3},
                                        response_only=True)])
@api_view(["POST"])
def find_mislabels(request, project_id):
    project = project_for(request, project_id, Role.REVIEWER)
    return _job_response(request_flag_run(project=project, user=request.user))


@extend_schema(summary="Run the data-health checks now (reviewers)",
               description="Returns the job to poll; when it succeeds, `GET .../findings/` lists what it found.",
               request=None, responses={202: JobSerializer, **schema.READ},
               examples=[OpenApiExample("Queued", value={**JOB_EXAMPLE, "kind": "health", "total": 100},
                                        response_only=True)])
@api_view(["POST"])
def health_run(request, project_id):
    project = project_for(request, project_id, Role.REVIEWER)
    return _job_response(request_health(project=project, user=request.user))


class FindingFilter(StrictFilterSet):
    severity = filters.ChoiceFilter(choices=Finding.Severity.choices)
    check = filters.CharFilter(field_name="check_name", help_text="e.g. conflicting_duplicates, blurry, slice.")
    dismissed = StrictBooleanFilter()

    class Meta:
        model = Finding
        fields = []


@extend_schema_view(get=extend_schema(
    summary="Findings of the latest data-health run (reviewers)",
    description="Each finding names its check, severity, the rule it applied (`explanation`) and its items "
                "(`item_ids`, at most 5,000; `count` is the true number). Empty before the first run.",
    responses={200: FindingSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", response_only=True, value=_page({
        "id": 31, "report": 4, "check": "conflicting_duplicates", "key": "conflicting_duplicates",
        "severity": "severe", "title": "Duplicates with different labels", "count": 2,
        "explanation": "Exact copies carry different labels.", "item_ids": [17, 18], "params": {},
        "dismissed": False, "dismissed_reason": "", "dismissed_by": None, "created_at": "2024-06-01T09:00:00Z"}))]))
class FindingList(generics.ListAPIView):
    queryset = Finding.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = FindingSerializer
    filterset_class = FindingFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"], Role.REVIEWER)
        report = latest_report(project)
        return Finding.objects.filter(report=report).select_related("report", "dismissed_by") if report \
            else Finding.objects.none()
