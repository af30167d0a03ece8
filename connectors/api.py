from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from connectors import audit
from connectors.endpoint_auth import EndpointOrStaffAuthentication, IsEndpointOrStaff
from connectors.models import ApiToken, Connector
from connectors.roles import own_role, rank
from connectors.serializers import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    ConnectorSerializer,
    IssuedApiTokenSerializer,
    RotateSigningSecretSerializer,
    SigningSecretSerializer,
    TokenSerializer,
)

SCHEMA_EDITS = (
    "A `schema` that would break a pipeline (a mapped field removed or renamed, a type its "
    "mapped constant cannot take) is refused with 400 naming each pipeline and mapping; "
    "change the mapping first."
)


@extend_schema_view(
    destroy=extend_schema(
        description="Delete the connector and, with it, the pipelines that use it (their runs, "
        "rejected records, deliveries and, for a mailbox, its records)."
    ),
    update=extend_schema(description=SCHEMA_EDITS),
    partial_update=extend_schema(description=SCHEMA_EDITS),
)
class ConnectorViewSet(viewsets.ModelViewSet):
    """Connectors of the four kinds: ingest endpoints, mailboxes, HTTP sources and destinations."""

    serializer_class = ConnectorSerializer

    def get_queryset(self):
        qs = Connector.objects.select_related("schema").prefetch_related(
            "schema__fields", "headers"
        )
        kind = self.request.query_params.get("kind")
        return qs.filter(kind=kind) if kind else qs

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        data = dict(serializer.data)
        token = getattr(serializer, "issued_token", None)
        if token:
            data["token"] = token
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TokenSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request, pk=None):
        """Issue a new endpoint token; the old one stops working at once."""
        connector = self.get_object()
        if not connector.kind_class.has_token:
            raise ValidationError(
                {"kind": f"A {connector.kind_class.label} has no endpoint token."}
            )
        token = connector.rotate_token()
        data = ConnectorSerializer(connector, context=self.get_serializer_context()).data
        return Response({"token": token, "endpoint_url": data["endpoint_url"]})

    @extend_schema(request=RotateSigningSecretSerializer, responses=SigningSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-signing-secret")
    def rotate_signing_secret(self, request, pk=None):
        """Issue a new signing secret (shown once). For `overlap_hours` (default 24) requests
        carry signatures by the new and the previous secret, so receivers switch at leisure."""
        connector = self.get_object()
        if connector.kind != Connector.Kind.HTTP_DESTINATION:
            raise ValidationError(
                {
                    "kind": f"A {connector.kind_class.label} signs nothing; only HTTP destinations do."
                }
            )
        options = RotateSigningSecretSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        hours = options.validated_data.get("overlap_hours")
        secret = connector.rotate_signing_secret(None if hours is None else timedelta(hours=hours))
        return Response(
            SigningSecretSerializer(
                {
                    "signing_secret": secret,
                    "previous_signing_secret_expires_at": (
                        connector.previous_signing_secret_expires_at
                    ),
                }
            ).data
        )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <key>` in the OpenAPI schema."""

    target_class = "connectors.api_tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Token"
        )


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Personal API tokens: issued with a username and password, listed and revoked by their owner."""

    serializer_class = ApiTokenSerializer
    throttle_scope = "tokens"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def get_permissions(self):
        if self.action == "create":
            return [permissions.AllowAny()]  # the password in the body is the credential
        return [permissions.IsAuthenticated()]

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.action == "create" else super().get_throttles()

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: IssuedApiTokenSerializer})
    def create(self, request, *args, **kwargs):
        """Issue a token for the user whose password is given; the token is shown this once."""
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            raise AuthenticationFailed("The username or password is wrong.")
        role = data["role"] or ""
        if role and rank(role) > rank(own_role(user)):
            raise ValidationError(
                {
                    "role": [
                        f"The role '{role}' is above {user.get_username()}'s role "
                        f"({own_role(user) or 'none'}); a token carries at most its owner's role."
                    ]
                }
            )
        audit.act_as(user)
        days = data["expires_in_days"]
        token, key = ApiToken.issue(
            user, name=data["name"], expires_in=timedelta(days=days) if days else None, role=role
        )
        token.token = key
        return Response(IssuedApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        # Revoked, not deleted: a client still sending it is told so, not just "invalid".
        instance.revoke()


class SchemaJSONRenderer(JSONRenderer):
    media_type = "application/schema+json"


class RecordSchemaView(APIView):
    """`GET .../{slug}/schema/`: the JSON Schema of one record of an ingest endpoint or mailbox,
    for the sender or consumer (its endpoint token) and for staff."""

    authentication_classes = [
        EndpointOrStaffAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]
    permission_classes = [IsEndpointOrStaff]
    renderer_classes = [JSONRenderer, SchemaJSONRenderer]
    kind: Connector.Kind

    def get(self, request, slug: str):
        connector = request.auth
        if not isinstance(connector, Connector):
            connector = get_object_or_404(Connector, slug=slug, kind=self.kind)
        return Response(connector.record_json_schema())
