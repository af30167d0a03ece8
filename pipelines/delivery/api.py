"""The management API of deliveries: list, detail, replay."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from connectors.query_params import id_param
from pipelines.delivery.models import Delivery
from pipelines.delivery.replay import replay, replay_all
from pipelines.delivery.serializers import DeliverySerializer


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
        if (pipeline := id_param(self.request, "pipeline")) is not None:
            qs = qs.filter(pipeline_id=pipeline)
        if (run := id_param(self.request, "run")) is not None:
            qs = qs.filter(run_id=run)
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs

    @extend_schema(request=None, responses={202: DeliverySerializer, 409: None})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send it again, with the same Idempotency-Key (a delivered, failed or dead delivery)."""
        delivery = self.get_object()
        if not replay(delivery):
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
        return Response({"replayed": replay_all(dead)}, status=status.HTTP_202_ACCEPTED)
