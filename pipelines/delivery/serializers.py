"""The management API's shapes of deliveries and their attempts."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from pipelines.delivery.models import Delivery, DeliveryAttempt


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "request_method",
            "request_url",
            "request_headers",
            "status_code",
            "error",
            "response_excerpt",
        ]


class DeliveryListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        deliveries = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        # Each delivery's records are in its payload: one query for the page, not one per row.
        models.prefetch_related_objects(deliveries, "payload")
        return super().to_representation(deliveries)


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)
    record_count = serializers.SerializerMethodField()
    records = serializers.JSONField(read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "pipeline",
            "destination",
            "run",
            "idempotency_key",
            "status",
            "record_count",
            "records",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "updated_at",
            "delivered_at",
            "attempt_log",
        ]
        list_serializer_class = DeliveryListSerializer

    def get_record_count(self, delivery) -> int:
        return delivery.record_count
