"""Pipelines and their mappings: which source feeds which destination, and how each field is made."""

from __future__ import annotations

from functools import lru_cache

from django.db import models

from connectors.models import Connector
from pipelines.mapping.compile import (
    MappingConfigError,
    MappingSpec,
    compile_mapping,
    suggest_mapping,
)


class PipelineQuerySet(models.QuerySet):
    def enabled_for(self, source_id: int):
        """The pipelines a source's records go through: on every ingest request, so kept lean
        (no ordering to resolve, only the destination columns the outputs read)."""
        return (
            self.filter(source_id=source_id, enabled=True)
            .select_related("destination__schema", "source__schema")
            .only(
                "id",
                "updated_at",
                "broken_reason",
                "source__id",
                "source__schema__id",
                "source__schema__updated_at",
                "destination__id",
                "destination__kind",
                "destination__batch_size",
                "destination__schema__id",
                "destination__schema__updated_at",
            )
            .order_by("id")
        )


class Pipeline(models.Model):
    """Joins a source to a destination and turns each source record into a destination record."""

    name = models.CharField(max_length=200)
    source = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="outgoing_pipelines"
    )
    destination = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="incoming_pipelines"
    )
    enabled = models.BooleanField(default=True)
    # Set when the pipeline could not map a batch (its mapping no longer compiles against the
    # schemas): its records are kept as rejected records meanwhile. Cleared when it works again.
    broken_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PipelineQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def mapping_specs(self):
        return [m.spec() for m in self.mappings.all()]

    def compiled(self, *, validated: bool = False):
        """The pipeline compiled once (templates, transforms, validators), reused while unchanged.

        `validated`: the records will have passed the source schema (every source checks them
        before `process`), so same-named fields of the same type need no second coercion.

        Raises MappingConfigError when the pipeline cannot work whatever the records (its
        mapping no longer fits the schemas, its destination is not one).
        """
        if not self.destination.is_destination:
            raise MappingConfigError(
                f"'{self.destination}' is a {self.destination.kind_class.label}, not a destination"
            )
        schema = self.destination.schema
        source = self.source.schema if validated else None
        compiled = _compile(
            self.pk,
            self.updated_at,
            schema.pk,
            schema.updated_at,
            source.pk if source else None,
            source.updated_at if source else None,
        )
        if isinstance(compiled, MappingConfigError):
            raise MappingConfigError(str(compiled))
        return compiled

    def preview(self, records: list) -> dict:
        """What `process` would do with these records, without storing or sending anything."""
        compiled = self.compiled()
        mapped, errors = [], []
        for index, record in enumerate(records):
            out, record_errors = compiled.map(record)
            mapped.append(out)
            errors.extend({"index": index, **error} for error in record_errors)
        result = {"records": mapped, "errors": errors}
        if self.destination.kind == Connector.Kind.HTTP_DESTINATION:
            from connectors.outbound import RenderError, render_request

            good = [r for r in mapped if r is not None]
            size = max(1, self.destination.batch_size)
            result["requests"] = []
            for i in range(0, len(good), size):
                # A batch that cannot be rendered is shown with its reason, as a delivery would fail.
                try:
                    request = render_request(
                        self.destination, good[i : i + size], idempotency_key="preview"
                    )
                    result["requests"].append(request.masked())
                except RenderError as exc:
                    result["requests"].append({"error": str(exc)})
        return result

    def suggestions(self) -> dict:
        source_fields = [f.name for f in self.source.schema.fields.all()]
        destination_fields = [f.name for f in self.destination.schema.fields.all()]
        mapped = {m.target: m.as_dict() for m in self.mappings.all()}
        suggested = suggest_mapping(
            source_fields, [f for f in destination_fields if f not in mapped]
        )
        return {
            "source_fields": source_fields,
            "destination_fields": destination_fields,
            "mapped": mapped,
            "suggested": suggested,
        }

    def unmapped_required(self) -> list[str]:
        """Required destination fields that nothing fills: no mapping, no default, no source
        field of the same name. Every record would be rejected for them. A source without
        fields accepts any record, so it may well carry them: nothing to say then."""
        source_fields = {f.name for f in self.source.schema.fields.all()}
        if not source_fields:
            return []
        mapped = set(self.mappings.values_list("target", flat=True))
        return [
            f.name
            for f in self.destination.schema.fields.filter(required=True, default__isnull=True)
            if f.name not in mapped and f.name not in source_fields
        ]

    def replace_mappings(self, mappings: list[dict]) -> None:
        """Set the whole mapping table at once, as the API and the editor send it."""
        self.mappings.all().delete()
        Mapping.objects.bulk_create(
            Mapping(pipeline=self, position=i, **mapping) for i, mapping in enumerate(mappings)
        )
        self.save(update_fields=["updated_at"])


@lru_cache(maxsize=256)
def _compile(pipeline_id, updated_at, schema_id, schema_updated_at, source_id, source_updated_at):
    # The key holds the timestamps: saving the pipeline or either schema recompiles.
    pipeline = Pipeline.objects.select_related("destination__schema", "source__schema").get(
        pk=pipeline_id
    )
    validated_by = pipeline.source.schema.specs() if source_id is not None else ()
    try:
        return compile_mapping(
            pipeline.mapping_specs(), pipeline.destination.schema.specs(), validated_by
        )
    except MappingConfigError as exc:
        # Kept too: a broken pipeline is not compiled again on every request until it changes.
        return exc


class Mapping(models.Model):
    """How one destination field gets its value: a source path, a template or a constant."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="mappings")
    position = models.PositiveIntegerField(default=0)
    target = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)
    template = models.TextField(blank=True)
    # A constant applies when neither source nor template is set; it may be any JSON value.
    value = models.JSONField(null=True, blank=True)
    transforms = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "target"], name="one_mapping_per_target")
        ]

    def __str__(self) -> str:
        return f"{self.target} <- {self.source or self.template or repr(self.value)}"

    def as_dict(self) -> dict:
        """The contract's shape: one of source, template or value, then transforms."""
        if self.source:
            data = {"target": self.target, "source": self.source}
        elif self.template:
            data = {"target": self.target, "template": self.template}
        else:
            data = {"target": self.target, "value": self.value}
        return {**data, "transforms": self.transforms}

    def spec(self):
        if self.source:
            return MappingSpec(target=self.target, source=self.source, transforms=self.transforms)
        if self.template:
            return MappingSpec(
                target=self.target, template=self.template, transforms=self.transforms
            )
        return MappingSpec(target=self.target, value=self.value, transforms=self.transforms)
