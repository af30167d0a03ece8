"""The management API of alerts: channels (admins), rules (editors), incidents (read-only)."""

from __future__ import annotations

from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from connectors.models import Connector
from connectors.roles import ADMIN
from pipelines.alerts import notify
from pipelines.alerts.models import AlertChannel, AlertRule, Incident


class AlertChannelSerializer(serializers.ModelSerializer):
    addresses = serializers.ListField(
        child=serializers.EmailField(), required=False, help_text="email: who is told."
    )
    connector = serializers.PrimaryKeyRelatedField(
        queryset=Connector.objects.filter(kind=Connector.Kind.HTTP_DESTINATION),
        required=False,
        allow_null=True,
        help_text="webhook: the http_destination connector that sends the alerts.",
    )

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "kind", "enabled", "addresses", "connector", "created_at"]
        read_only_fields = ["created_at"]

    def validate(self, data):
        kind = data.get("kind", getattr(self.instance, "kind", None))
        addresses = data.get("addresses", getattr(self.instance, "addresses", []))
        connector = data.get("connector", getattr(self.instance, "connector", None))
        if kind == AlertChannel.Kind.EMAIL and not addresses:
            raise serializers.ValidationError({"addresses": "An email channel needs an address."})
        if kind == AlertChannel.Kind.WEBHOOK and connector is None:
            raise serializers.ValidationError(
                {"connector": "A webhook channel needs an http_destination connector."}
            )
        return data


def clean_addresses(text: str) -> list[str]:
    """Addresses typed one per line or separated by commas (the page's form)."""
    addresses = [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()]
    for address in addresses:
        validate_email(address)
    return addresses


class AlertRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertRule
        fields = ["id", "kind", "pipeline", "threshold", "minutes", "enabled", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {
            "pipeline": {"help_text": "Watch this pipeline only; empty: every pipeline."},
            "threshold": {
                "help_text": "rejected_share: percent of a run; signature_failures: failures."
            },
            "minutes": {
                "help_text": "delivery_dead, signature_failures: the window; "
                "source_silent: the silence allowed."
            },
        }


class IncidentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Incident
        fields = [
            "id",
            "rule",
            "subject",
            "summary",
            "opened_at",
            "resolved_at",
            "last_notified_at",
        ]


class AlertChannelViewSet(viewsets.ModelViewSet):
    """Where alerts go (admins only): email addresses, or a webhook connector."""

    required_role = ADMIN
    serializer_class = AlertChannelSerializer
    queryset = AlertChannel.objects.select_related("connector")

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "AlertTestResult",
                {"delivered": serializers.BooleanField(), "detail": serializers.CharField()},
            )
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a test alert now, and say what happened."""
        delivered, detail = notify.send_test(self.get_object())
        return Response({"delivered": delivered, "detail": detail})


class AlertRuleViewSet(viewsets.ModelViewSet):
    """What is watched, every minute: per pipeline or for all of them."""

    serializer_class = AlertRuleSerializer
    queryset = AlertRule.objects.all()


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Problems the rules found: open ones first have no resolved_at."""

    serializer_class = IncidentSerializer
    queryset = Incident.objects.select_related("rule")
