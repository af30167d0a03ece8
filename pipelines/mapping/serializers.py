"""The management API's shapes of pipelines and mappings, previews and suggestions."""

from __future__ import annotations

from django.db import transaction
from rest_framework import serializers

from connectors.models import Connector
from pipelines.mapping.compile import MappingConfigError, compile_mapping
from pipelines.mapping.models import Mapping, Pipeline


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
            "broken_reason",
            "mappings",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["broken_reason"]
        extra_kwargs = {
            "broken_reason": {
                "help_text": "Why the pipeline cannot map records (its records are kept as "
                "rejected records meanwhile); empty when it works."
            }
        }

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
        # `validate` compiled the mapping as saved: whatever broke it no longer holds.
        validated_data["broken_reason"] = ""
        pipeline = super().update(pipeline, validated_data)
        if mappings is not None:
            pipeline.replace_mappings(mappings)
        return pipeline


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
