from __future__ import annotations

import yaml
from django.core.management import call_command


def test_the_schema_generates_without_warnings_and_covers_every_endpoint(tmp_path, capsys):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--fail-on-warn", "--validate")
    schema = yaml.safe_load(out.read_text())
    paths = set(schema["paths"])
    for path in (
        "/api/v1/connectors/",
        "/api/v1/connectors/{id}/rotate-token/",
        "/api/v1/pipelines/{id}/preview/",
        "/api/v1/pipelines/{id}/suggest/",
        "/api/v1/runs/",
        "/api/v1/runs/{id}/errors/",
        "/api/v1/deliveries/",
        "/api/v1/ingest/{slug}/",
        "/api/v1/mailbox/{slug}/",
        "/api/v1/mailbox/{slug}/ack/",
        "/api/v1/ingest/{slug}/schema/",
        "/api/v1/mailbox/{slug}/schema/",
        "/api/v1/connectors/{id}/openapi/",
    ):
        assert path in paths, path


def test_the_schema_and_docs_are_served(api):
    assert api.get("/api/v1/schema/").status_code == 200
    assert api.get("/api/v1/docs/").status_code == 200
