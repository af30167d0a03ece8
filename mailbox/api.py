"""The management API's view of a mailbox's consumers: `/api/v1/connectors/{id}/consumers/`.

Staff only, like the rest of the management API (the project's default permission).
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from connectors.models import Connector
from mailbox.models import ConsumerCursor
from mailbox.views import CONSUMER_NAME

NOT_A_MAILBOX = "No such connector, or it is not a mailbox."


class MailboxConsumerSerializer(serializers.Serializer):
    consumer = serializers.CharField(help_text="The name it polls and acknowledges with.")
    position = serializers.IntegerField(
        help_text="Id of the last record it acknowledged (0: none yet)."
    )
    backlog = serializers.IntegerField(help_text="Records waiting after its position.")
    updated_at = serializers.DateTimeField(
        source="acknowledged_at",
        allow_null=True,
        help_text="When it last acknowledged a new record; null if it never has.",
    )


ConsumerList = inline_serializer(
    "MailboxConsumers", {"consumers": MailboxConsumerSerializer(many=True)}
)


class MailboxConsumerViewSet(viewsets.GenericViewSet):
    """The consumers of a mailbox, under the connector's URL (any other kind is a 404)."""

    queryset = Connector.objects.filter(kind=Connector.Kind.MAILBOX)
    serializer_class = MailboxConsumerSerializer

    @extend_schema(responses={200: ConsumerList, 404: OpenApiResponse(description=NOT_A_MAILBOX)})
    @action(detail=True, methods=["get"], url_path="consumers")
    def consumers(self, request, pk=None):
        """Every system that has read the mailbox: its acknowledged position and backlog.

        Purges keep each record until every consumer listed here has acknowledged it.
        """
        consumers = ConsumerCursor.consumers_of(self.get_object())
        return Response({"consumers": MailboxConsumerSerializer(consumers, many=True).data})

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, description="The consumer's name.")
        ],
        request=None,
        responses={
            204: OpenApiResponse(description="Forgotten."),
            404: OpenApiResponse(description=f"No such consumer. {NOT_A_MAILBOX}"),
        },
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"consumers/(?P<name>{CONSUMER_NAME.pattern})",
    )
    def forget_consumer(self, request, pk=None, name=None):
        """Forget a consumer that will never read again, so purges stop waiting for it.

        If it reads again it is a new consumer, starting at the oldest record still kept.
        """
        if not ConsumerCursor.forget(self.get_object(), name):
            raise NotFound(f"No consumer “{name}” reads this mailbox.")
        return Response(status=status.HTTP_204_NO_CONTENT)
