from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from connectors.models import Connector
from connectors.serializers import (
    ConnectorSerializer,
    RotateSigningSecretSerializer,
    SigningSecretSerializer,
    TokenSerializer,
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
