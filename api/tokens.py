"""Personal API tokens over the API: create one (shown once), list yours, revoke one."""
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from . import schema
from .models import ApiToken
from .permissions import checked_id
from .serializers import StrictCharField


class TokenSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="hint", read_only=True,
                                   help_text="The token's first characters, to tell tokens apart.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at"]


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret. Shown in this response only; "
                                  "Quorum keeps only its SHA-256 hash.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


class TokenInSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100, help_text="What the token is for, e.g. “training notebook”.")


TOKEN_EXAMPLE = {"id": 4, "name": "training notebook", "prefix": "qrm_Hx3kQ9", "created_at": "2024-06-01T09:00:00Z",
                 "last_used_at": "2024-06-02T10:00:00Z"}


@extend_schema_view(get=extend_schema(
    summary="Your API tokens (never their secrets)", description="Tokens you have not revoked, oldest first.",
    responses={200: TokenSerializer(many=True), **schema.BAD_REQUEST, **schema.AUTH, **schema.NOT_FOUND},
    examples=[OpenApiExample("A page", value={"next": None, "previous": None, "results": [TOKEN_EXAMPLE]},
                             response_only=True)]))
class TokenList(generics.ListAPIView):
    queryset = ApiToken.objects.none()  # for the schema; get_queryset scopes to the user
    serializer_class = TokenSerializer

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user, revoked_at__isnull=True)

    @extend_schema(
        summary="Create a token for yourself",
        description="The secret is in this response only: Quorum stores its SHA-256 hash. The token acts with "
                    "your permissions; revoke it with `DELETE /api/tokens/{id}/`.",
        request=TokenInSerializer, responses={201: NewTokenSerializer, **schema.BAD_REQUEST, **schema.AUTH},
        examples=[OpenApiExample("Name it", value={"name": "training notebook"}, request_only=True),
                  OpenApiExample("Created", value={**TOKEN_EXAMPLE, "last_used_at": None,
                                                   "token": "qrm_Hx3kQ9…(43 characters)"}, response_only=True)])
    def post(self, request):
        data = TokenInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, plain = ApiToken.issue(user=request.user, name=data.validated_data["name"].strip())
        token.token = plain
        return Response(NewTokenSerializer(token).data, status=status.HTTP_201_CREATED)


@extend_schema(summary="Revoke one of your tokens", description="The next call with it gets 401. Someone else's "
               "token, or one already revoked, is a 404.", request=None,
               responses={204: None, **schema.AUTH, **schema.NOT_FOUND})
@api_view(["DELETE"])
def token_detail(request, token_id):
    token = ApiToken.objects.filter(pk=checked_id(token_id), user=request.user, revoked_at__isnull=True).first()
    if token is None or not token.revoke():
        raise Http404("No such token among yours; list them with GET /api/tokens/.")
    return Response(status=status.HTTP_204_NO_CONTENT)
