"""The management API of pipelines: CRUD, preview and suggestions."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pipelines.mapping.compile import MappingConfigError
from pipelines.mapping.models import Pipeline
from pipelines.mapping.serializers import (
    PipelineSerializer,
    PreviewRequestSerializer,
    PreviewResponseSerializer,
    SuggestResponseSerializer,
)


class PipelineViewSet(viewsets.ModelViewSet):
    """Pipelines: a source, a destination and the mapping between their schemas."""

    serializer_class = PipelineSerializer
    queryset = Pipeline.objects.select_related("source", "destination").prefetch_related("mappings")

    @extend_schema(request=PreviewRequestSerializer, responses=PreviewResponseSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """Map sample records and show the result, the errors and the requests that would be sent. Changes nothing."""
        pipeline = self.get_object()
        body = PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            return Response(pipeline.preview(body.validated_data["records"]))
        except MappingConfigError as exc:
            # A pipeline broken behind validation (see Pipeline.broken_reason) shows why.
            raise ValidationError({"mappings": [str(exc)]}) from None

    @extend_schema(responses=SuggestResponseSerializer)
    @action(detail=True, methods=["get"])
    def suggest(self, request, pk=None):
        """The auto-mapping this pipeline would use for destination fields left unmapped."""
        pipeline = self.get_object()
        return Response(pipeline.suggestions())
