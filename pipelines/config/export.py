"""Connectors and pipelines as configuration: the API's own shapes, minus what the server
decides (ids, tokens, timestamps, runtime state), with every secret as `{env: NAME}`."""

from __future__ import annotations

from connectors.models import Connector
from connectors.secrets import MASK
from connectors.serializers import ConnectorSerializer
from pipelines.config.document import VERSION, env_name
from pipelines.mapping.models import Pipeline
from pipelines.mapping.serializers import PipelineSerializer

# Decided by the server or by running, never configured.
SERVER_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "endpoint_url",
    "token_hint",
    "has_signing_secret",
    "undecryptable_secrets",
    "disabled_reason",
    "state",
    "previous_signing_secret_expires_at",
}
# Settings written whole with their secrets masked by the API: each masked key becomes a reference.
MASKED_SETTINGS = ("auth", "verification")


def export_workspace(slugs: list[str] | None = None) -> dict:
    """Every connector (or those of `slugs`) and every pipeline between exported connectors."""
    connectors = Connector.objects.select_related("schema").prefetch_related(
        "schema__fields", "headers"
    )
    if slugs:
        connectors = connectors.filter(slug__in=slugs)
    connectors = list(connectors.order_by("slug"))
    chosen = {c.pk for c in connectors}
    pipelines = [
        p
        for p in Pipeline.objects.select_related("source", "destination")
        .prefetch_related("mappings")
        .order_by("name", "id")
        if p.source_id in chosen and p.destination_id in chosen
    ]
    return {
        "version": VERSION,
        "connectors": [export_connector(c) for c in connectors],
        "pipelines": [export_pipeline(p) for p in pipelines],
    }


def export_connector(connector: Connector) -> dict:
    data = {k: v for k, v in ConnectorSerializer(connector).data.items() if k not in SERVER_FIELDS}
    slug = connector.slug
    for header in data.get("headers", []):
        if header["secret"]:
            header["value"] = {"env": env_name(slug, "header", header["name"])}
    for setting in MASKED_SETTINGS:
        if data.get(setting):
            data[setting] = {
                key: {"env": env_name(slug, setting, key)} if value == MASK else value
                for key, value in data[setting].items()
            }
    if data.get("secret_variables"):
        data["secret_variables"] = {
            name: {"env": env_name(slug, "secret_variables", name)}
            for name in data["secret_variables"]
        }
    if connector.kind == Connector.Kind.HTTP_DESTINATION and connector.signing_secret:
        data["signing_secret"] = {"env": env_name(slug, "signing_secret")}
    return data


def connector_secrets(connector: Connector) -> dict:
    """The secrets themselves, to tell whether an apply changed one (never written anywhere)."""
    return {
        "headers": {h.name: h.value for h in connector.headers.all() if h.secret},
        "auth": dict(connector.auth or {}),
        "secret_variables": dict(connector.secret_variables or {}),
        "verification": dict(connector.verification or {}),
        "signing_secret": connector.signing_secret,
    }


def export_pipeline(pipeline: Pipeline) -> dict:
    data = dict(PipelineSerializer(pipeline).data)
    return {
        "name": data["name"],
        "source": pipeline.source.slug,
        "destination": pipeline.destination.slug,
        "enabled": data["enabled"],
        "mappings": data["mappings"],
    }
