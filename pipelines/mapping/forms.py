"""The pipeline editor's forms: the pipeline itself and its mapping table."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms

from connectors.forms import as_messages, parse_json
from connectors.models import Connector
from pipelines.mapping.models import Pipeline
from pipelines.mapping.serializers import PipelineSerializer

MODES = [
    ("auto", "Auto (same name)"),
    ("source", "Source field"),
    ("template", "Template"),
    ("value", "Constant"),
]
TRANSFORM_SEPARATOR = "|"
QUOTED = re.compile(r"'([^']+)'")


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "source", "destination", "enabled"]
        help_texts = {
            "source": "Where records come from: an ingest endpoint or an HTTP source.",
            "destination": "Where they go: a mailbox or an HTTP destination.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = Connector.objects.sources()
        self.fields["destination"].queryset = Connector.objects.destinations()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        document = {
            "name": data["name"],
            "source": data["source"].pk,
            "destination": data["destination"].pk,
            "enabled": data.get("enabled", False),
        }
        serializer = PipelineSerializer(data=document)
        if not serializer.is_valid():
            for key, messages in serializer.errors.items():
                for message in as_messages(messages):
                    self.add_error(key if key in self.fields else None, message)
        return data


class MappingForm:
    """The mapping table: one row per destination field, posted as `m-<i>-<part>`."""

    def __init__(self, pipeline: Pipeline, data=None):
        self.pipeline = pipeline
        self.data = data
        self.errors: list[str] = []
        self.rows = self.initial_rows()
        if data is not None:
            for i, row in enumerate(self.rows):
                row.update(
                    mode=data.get(f"m-{i}-mode", "auto"),
                    source=data.get(f"m-{i}-source", ""),
                    template=data.get(f"m-{i}-template", ""),
                    value=data.get(f"m-{i}-value", ""),
                    transforms=data.get(f"m-{i}-transforms", ""),
                )
        self.pipeline_name = data.get("name", pipeline.name) if data is not None else pipeline.name
        self.enabled = bool(data.get("enabled")) if data is not None else pipeline.enabled

    def initial_rows(self) -> list[dict]:
        info = self.pipeline.suggestions()
        specs = self.pipeline.destination.schema.fields.all()
        rows = []
        for spec in specs:
            mapped = info["mapped"].get(spec.name)
            suggested = info["suggested"].get(spec.name, "")
            row = {
                "target": spec.name,
                "type": spec.type,
                "required": spec.required,
                "suggested": suggested,
                "mode": "auto",
                "source": "",
                "template": "",
                "value": "",
                "transforms": "",
                "errors": [],
            }
            if mapped:
                row["transforms"] = f" {TRANSFORM_SEPARATOR} ".join(mapped.get("transforms", []))
                if "source" in mapped:
                    row.update(mode="source", source=mapped["source"])
                elif "template" in mapped:
                    row.update(mode="template", template=mapped["template"])
                else:
                    row.update(mode="value", value=constant_text(mapped["value"]))
            elif suggested and suggested != spec.name:
                # Auto-mapping only matches the same name; a near match becomes an explicit choice.
                row.update(mode="source", source=suggested)
            rows.append(row)
        return rows

    @property
    def source_fields(self) -> list[str]:
        return [f.name for f in self.pipeline.source.schema.fields.all()]

    def mappings(self) -> list[dict]:
        mappings = []
        for row in self.rows:
            if row["mode"] == "auto":
                continue
            mapping: dict[str, Any] = {"target": row["target"]}
            if row["mode"] == "value":
                mapping["value"] = constant_value(row["value"], row["type"])
            else:
                mapping[row["mode"]] = row[row["mode"]]
            mapping["transforms"] = [
                t.strip() for t in row["transforms"].split(TRANSFORM_SEPARATOR) if t.strip()
            ]
            mappings.append(mapping)
        return mappings

    def is_valid(self) -> bool:
        if not self.pipeline_name.strip():
            self.errors.append("Give the pipeline a name.")
        mappings = self.mappings()
        serializer = PipelineSerializer(
            self.pipeline,
            data={"name": self.pipeline_name, "enabled": self.enabled, "mappings": mappings},
            partial=True,
        )
        if not serializer.is_valid():
            self.place_errors(serializer.errors, mappings)
        self.serializer = serializer
        return not self.errors and not any(row["errors"] for row in self.rows)

    def place_errors(self, errors: dict, mappings: list[dict]) -> None:
        """Put each message on the row of the field it names, the rest above the table."""
        by_target = {row["target"]: row for row in self.rows}
        for key, value in errors.items():
            if (
                key == "mappings"
                and isinstance(value, list)
                and any(isinstance(v, dict) for v in value)
            ):
                for mapping, row_errors in zip(mappings, value, strict=False):
                    by_target[mapping["target"]]["errors"].extend(as_messages(row_errors))
                continue
            for message in as_messages(value):
                named = [t for t in QUOTED.findall(message) if t in by_target]
                if named:
                    by_target[named[0]]["errors"].append(message)
                else:
                    self.errors.append(message)

    def save(self) -> Pipeline:
        return self.serializer.save()


def constant_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def constant_value(text: str, type_name: str) -> Any:
    """A constant as typed: JSON for a json field, text otherwise (the schema coerces it)."""
    if type_name == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def parse_sample_records(text: str) -> list:
    value = parse_json(text, "sample")
    records = value if isinstance(value, list) else [value]
    if not records or len(records) > 100:
        raise ValueError("Give between 1 and 100 sample records.")
    return records
