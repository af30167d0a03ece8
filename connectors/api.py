from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from connectors.models import Connector
from connectors.serializers import ConnectorSerializer, TokenSerializer


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

    @extend_schema(
        request=inline_serializer(
            "TestReadRequest", {"pages": serializers.IntegerField(required=False)}
        ),
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 504: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"], url_path="test-read")
    def test_read(self, request, pk=None):
        """Read up to `pages` pages (default 3, at most 10) of an HTTP source and store nothing.

        Returns the requests made (secrets masked), the records found and a schema inferred
        from them; a failed read answers 200 with `ok: false`, the error and the response.
        """
        from pipelines.pulling import SAMPLE_MAX_PAGES, request_sample

        connector = self.get_object()
        if connector.kind != Connector.Kind.HTTP_SOURCE:
            raise ValidationError({"kind": f"A {connector.kind_class.label} has nothing to read."})
        pages = request.data.get("pages", 3)
        if (
            not isinstance(pages, int)
            or isinstance(pages, bool)
            or not 1 <= pages <= SAMPLE_MAX_PAGES
        ):
            raise ValidationError({"pages": f"Read between 1 and {SAMPLE_MAX_PAGES} pages."})
        result = request_sample(connector, pages)
        if result is None:
            return Response(
                {"detail": "No worker answered in time; is `python manage.py qcluster` running?"},
                status=status.HTTP_504_GATEWAY_TIMEOUT,
            )
        return Response(result)
