"""The management API of runs and their rejected records."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from connectors.query_params import id_param
from pipelines.runs.models import Run
from pipelines.runs.serializers import RecordErrorSerializer, RunSerializer


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Runs: each ingest request, scheduled or manual pull, upload or resend, with its counts."""

    serializer_class = RunSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("pipeline", int, description="Runs that fed this pipeline"),
            OpenApiParameter("source", int, description="Runs of this source connector"),
            OpenApiParameter("status", str, enum=Run.Status.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = Run.objects.prefetch_related("stats")
        params = self.request.query_params
        if (pipeline := id_param(self.request, "pipeline")) is not None:
            qs = qs.filter(source__outgoing_pipelines=pipeline)
        if (source := id_param(self.request, "source")) is not None:
            qs = qs.filter(source_id=source)
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs

    @extend_schema(responses=RecordErrorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        """Every rejected record of the run, whole, with its errors (paginated)."""
        run = self.get_object()
        page = self.paginate_queryset(run.record_errors.all())
        return self.get_paginated_response(RecordErrorSerializer(page, many=True).data)
