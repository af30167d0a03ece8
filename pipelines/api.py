from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from connectors.models import Connector
from connectors.serializers import ConnectorSerializer
from pipelines.models import Delivery, Pipeline, Run
from pipelines.pulling import SAMPLE_MAX_PAGES, request_sample
from pipelines.query_params import parse_id
from pipelines.serializers import (
    DeliverySerializer,
    PipelineSerializer,
    PreviewRequestSerializer,
    PreviewResponseSerializer,
    RecordErrorSerializer,
    RunSerializer,
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
        return Response(pipeline.preview(body.validated_data["records"]))

    @extend_schema(responses=SuggestResponseSerializer)
    @action(detail=True, methods=["get"])
    def suggest(self, request, pk=None):
        """The auto-mapping this pipeline would use for destination fields left unmapped."""
        pipeline = self.get_object()
        return Response(pipeline.suggestions())

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
        from pipelines.pulling import SourceBusy, queue_pull

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


def int_param(request, name: str) -> int | None:
    """An id filter of the query string; absent: None, not an id: 400 naming the parameter."""
    value = request.query_params.get(name, "")
    if not value:
        return None
    parsed = parse_id(value)
    if parsed is None:
        raise ValidationError({name: [f"{value!r} is not an id (a whole number)."]})
    return parsed


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
        if (pipeline := int_param(self.request, "pipeline")) is not None:
            qs = qs.filter(source__outgoing_pipelines=pipeline)
        if (source := int_param(self.request, "source")) is not None:
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


class ReplayDeadSerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        help_text="Replay deliveries that died at or after this time."
    )
    pipeline = serializers.IntegerField(
        required=False, help_text="Only this pipeline's deliveries."
    )


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Outbound requests to HTTP destinations, each with its attempts."""

    serializer_class = DeliverySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("pipeline", int),
            OpenApiParameter("run", int),
            OpenApiParameter("status", str, enum=Delivery.Status.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = Delivery.objects.prefetch_related("attempt_log")
        params = self.request.query_params
        if (pipeline := int_param(self.request, "pipeline")) is not None:
            qs = qs.filter(pipeline_id=pipeline)
        if (run := int_param(self.request, "run")) is not None:
            qs = qs.filter(run_id=run)
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs

    @extend_schema(request=None, responses={202: DeliverySerializer, 409: None})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send it again, with the same Idempotency-Key (a delivered, failed or dead delivery)."""
        delivery = self.get_object()
        if not delivery.replay():
            return Response(
                {
                    "detail": f"Delivery {delivery.pk} is {delivery.status}: it is already on its way."
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=ReplayDeadSerializer,
        responses={
            202: inline_serializer("ReplayDeadResult", {"replayed": serializers.IntegerField()})
        },
    )
    @action(detail=False, methods=["post"], url_path="replay-dead")
    def replay_dead(self, request):
        """Replay every dead delivery that died since a time (optionally of one pipeline)."""
        form = ReplayDeadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        dead = Delivery.objects.dead_since(form.validated_data["since"])
        if "pipeline" in form.validated_data:
            dead = dead.filter(pipeline_id=form.validated_data["pipeline"])
        return Response({"replayed": dead.replay_all()}, status=status.HTTP_202_ACCEPTED)


class ConnectorTestReadViewSet(viewsets.GenericViewSet):
    """The test read of an HTTP source, under the connector's URL; it lives here because it reads
    through `pipelines.pulling` (`connectors` imports nothing from above)."""

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
