"""Small builders shared by tests: objects built inline, readable on their own."""

from __future__ import annotations

from connectors.models import Connector
from pipelines.mapping.models import Pipeline


def make_connector(
    kind: str, name: str = "", fields: list[dict] | None = None, **config
) -> Connector:
    connector = Connector.objects.create(
        name=name or kind.replace("_", " ").title(), kind=kind, **config
    )
    connector.schema.replace_fields(fields or [])
    return connector


def make_pipeline(
    source: Connector, destination: Connector, mappings: list[dict] | None = None, **kw
) -> Pipeline:
    pipeline = Pipeline.objects.create(
        name=kw.pop("name", "P"), source=source, destination=destination, **kw
    )
    pipeline.replace_mappings(mappings or [])
    return pipeline
