from __future__ import annotations

from django.db import models, transaction
from rest_framework import serializers

from connectors.models import Connector
from pipelines.models import Delivery, DeliveryAttempt, Mapping, Pipeline, RecordError, Run


class MappingSerializer(serializers.Serializer):
    target = serializers.CharField(max_length=200)
    source = serializers.CharField(max_length=200, required=False, allow_blank=True)
    template = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    value = serializers.JSONField(required=False, allow_null=True)
    transforms = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    def validate(self, attrs):
        given = [
            key for key in ("source", "template", "value") if key in attrs and attrs[key] != ""
        ]
        if len(given) != 1:
            raise serializers.ValidationError(
                f"Mapping for '{attrs['target']}': give exactly one of source, template or value."
            )
        return attrs

    def to_representation(self, mapping: Mapping):
        return mapping.as_dict()


class PipelineSerializer(serializers.ModelSerializer):
    mappings = MappingSerializer(many=True, required=False)
    source = serializers.PrimaryKeyRelatedField(queryset=Connector.objects.all())
    destination = serializers.PrimaryKeyRelatedField(queryset=Connector.objects.all())

    class Meta:
        model = Pipeline
        fields = [
            "id",
            "name",
            "source",
            "destination",
            "enabled",
            "mappings",
            "created_at",
            "updated_at",
        ]

    def validate_source(self, connector):
        if not connector.is_source:
            raise serializers.ValidationError(
                f"'{connector.name}' is a {connector.kind_class.label}, not a source."
            )
        return connector

    def validate_destination(self, connector):
        if not connector.is_destination:
            raise serializers.ValidationError(
                f"'{connector.name}' is a {connector.kind_class.label}, not a destination."
            )
        return connector

    def validate(self, attrs):
        from pipelines.mapping import MappingConfigError, compile_mapping

        destination = attrs.get("destination") or self.instance.destination
        if "mappings" in attrs:
            specs = [Mapping(**m).spec() for m in attrs["mappings"]]
        elif self.instance:
            specs = self.instance.mapping_specs()
        else:
            specs = []
        targets = [s.target for s in specs]
        duplicates = {t for t in targets if targets.count(t) > 1}
        if duplicates:
            raise serializers.ValidationError(
                {"mappings": f"'{sorted(duplicates)[0]}' is mapped twice."}
            )
        try:
            compile_mapping(specs, destination.schema.specs())
        except MappingConfigError as exc:
            raise serializers.ValidationError({"mappings": str(exc)}) from exc
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        mappings = validated_data.pop("mappings", [])
        pipeline = Pipeline.objects.create(**validated_data)
        pipeline.replace_mappings(mappings)
        return pipeline

    @transaction.atomic
    def update(self, pipeline, validated_data):
        mappings = validated_data.pop("mappings", None)
        pipeline = super().update(pipeline, validated_data)
        if mappings is not None:
            pipeline.replace_mappings(mappings)
        return pipeline


class RunSerializer(serializers.ModelSerializer):
    pipelines = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "source",
            "trigger",
            "status",
            "received",
            "accepted",
            "rejected",
            "delivered",
            "failed",
            "pages",
            "error",
            "detail",
            "idempotency_key",
            "started_at",
            "finished_at",
            "pipelines",
        ]

    def get_pipelines(self, run) -> list[dict]:
        return [
            {
                "pipeline": stat.pipeline_id,
                "accepted": stat.accepted,
                "rejected": stat.rejected,
                "delivered": stat.delivered,
                "failed": stat.failed,
            }
            for stat in run.stats.all()
        ]


class RecordErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecordError
        fields = ["id", "run", "pipeline", "index", "record", "errors", "status", "created_at"]


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


class PreviewRequestSerializer(serializers.Serializer):
    records = serializers.ListField(child=serializers.JSONField(), max_length=1000)


class PreviewResponseSerializer(serializers.Serializer):
    records = serializers.ListField(child=serializers.JSONField(allow_null=True))
    errors = serializers.ListField(child=serializers.DictField())
    requests = serializers.ListField(child=serializers.DictField(), required=False)


class SuggestResponseSerializer(serializers.Serializer):
    source_fields = serializers.ListField(child=serializers.CharField())
    destination_fields = serializers.ListField(child=serializers.CharField())
    mapped = serializers.DictField(child=serializers.DictField())
    suggested = serializers.DictField(child=serializers.CharField())
