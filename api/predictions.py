"""API views for model versions and uploaded predictions."""
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response

from core.models import Role
from learning.models import ModelVersion, Prediction
from learning.predictions import predictions_upload

from . import schema
from .filters import ModelVersionFilter, PredictionFilter
from .permissions import project_for
from .serializers import (
    ModelVersionSerializer,
    PredictionResultSerializer,
    PredictionSerializer,
    PredictionUploadSerializer,
)

MODEL_EXAMPLE = {"id": 4, "name": "bert-2024-06-01", "origin": "uploaded", "algorithm": "uploaded",
                 "params": {"epochs": 3}, "n_train": 0, "cv_accuracy": None,
                 "metrics": {"classes": ["positive", "negative", "neutral"]}, "created_at": "2024-06-01T09:00:00Z"}


@extend_schema_view(get=extend_schema(
    summary="Model versions, trained in Quorum or uploaded", responses={200: ModelVersionSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", value={"next": None, "previous": None, "results": [MODEL_EXAMPLE]},
                             response_only=True)]))
class ModelVersionList(generics.ListAPIView):
    queryset = ModelVersion.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = ModelVersionSerializer
    filterset_class = ModelVersionFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return ModelVersion.objects.filter(project=project)


@extend_schema_view(get=extend_schema(
    summary="Stored predictions", responses={200: PredictionSerializer(many=True), **schema.READ},
    examples=[OpenApiExample("A page", response_only=True, value={"next": None, "previous": None, "results": [
        {"id": 8, "item": 42, "model_version": "bert-2024-06-01", "probabilities": [0.05, 0.9, 0.05],
         "out_of_fold": False, "embedding": None}]})]))
class PredictionList(generics.ListAPIView):
    queryset = Prediction.objects.none()  # for the schema; get_queryset scopes to the project
    serializer_class = PredictionSerializer
    filterset_class = PredictionFilter

    def get_queryset(self):
        project = project_for(self.request, self.kwargs["project_id"])
        return Prediction.objects.filter(model_version__project=project).select_related("model_version")

    @extend_schema(
        summary="Upload predictions from your own model (managers)",
        description="Per item, class probabilities in the project's label order (or an object keyed by label "
                    "name), optionally an embedding. Everything is validated first (unknown items, wrong "
                    "vector length, probabilities not summing to 1 within 1e-3); any error names its row and "
                    "nothing is stored. Creates a model version (origin `uploaded`), sets each item's "
                    "predicted label and confidence, and re-ranks open items by margin uncertainty.",
        request=PredictionUploadSerializer, responses={201: PredictionResultSerializer, **schema.WRITE},
        examples=[
            OpenApiExample("Two items", request_only=True, value={
                "model_version": "bert-2024-06-01", "params": {"epochs": 3}, "predictions": [
                    {"item": 42, "probabilities": [0.05, 0.9, 0.05], "embedding": [0.1, -0.3]},
                    {"item": 43, "probabilities": {"positive": 0.6, "negative": 0.3, "neutral": 0.1}}]}),
            OpenApiExample("Stored", response_only=True, value={"model_version": MODEL_EXAMPLE, "predictions": 2}),
        ])
    def post(self, request, project_id):
        project = project_for(request, project_id, Role.MANAGER)
        body = request.data if isinstance(request.data, dict) else {}
        version = predictions_upload(project=project, model_version=body.get("model_version"),
                                     rows=body.get("predictions"), params=body.get("params") or {})
        return Response({"model_version": ModelVersionSerializer(version).data,
                         "predictions": version.predictions.count()}, status=status.HTTP_201_CREATED)
