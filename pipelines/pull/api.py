"""Reading HTTP sources on demand: a pipeline's run now, and a connector's test read."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from connectors.models import Connector
from connectors.serializers import ConnectorSerializer
from pipelines.mapping.models import Pipeline
from pipelines.mapping.serializers import (
    PipelineSerializer,
)
from pipelines.pull.runs import SourceBusy, queue_pull
from pipelines.pull.sample import SAMPLE_MAX_PAGES, request_sample


class ConnectorTestReadViewSet(viewsets.GenericViewSet):
    """The test read of an HTTP source, under the connector's URL; it lives here because it reads
    through `pipelines.pull` (`connectors` imports nothing from above)."""

    queryset = Connector.objects.all()
    # What an OPTIONS request describes, as it did when the action was on ConnectorViewSet.
    serializer_class = ConnectorSerializer

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


class PipelineRunViewSet(viewsets.GenericViewSet):
    """Running a pipeline now: pulling its HTTP source (`/pipelines/{id}/run/`)."""

    queryset = Pipeline.objects.select_related("source")
    serializer_class = PipelineSerializer

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer("RunQueued", {"run": serializers.IntegerField()}),
            400: inline_serializer("RunRefused", {"detail": serializers.CharField()}),
            409: inline_serializer(
                "RunBusy", {"detail": serializers.CharField(), "run": serializers.IntegerField()}
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Pull this pipeline's HTTP source now: queued to the workers, 202 with the new run's id."""
        from connectors.models import Connector

        pipeline = self.get_object()
        source = pipeline.source
        if source.kind != Connector.Kind.HTTP_SOURCE:
            detail = f"Its source is a {source.kind_class.label}; only an HTTP source can be run on demand."
        elif not (pipeline.enabled and source.enabled):
            detail = "Enable the pipeline and its source first."
        else:
            try:
                run = queue_pull(source)
            except SourceBusy as exc:
                return Response(
                    {"detail": str(exc), "run": exc.run_id}, status=status.HTTP_409_CONFLICT
                )
            return Response({"run": run.pk}, status=status.HTTP_202_ACCEPTED)
        return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
