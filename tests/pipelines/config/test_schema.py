"""The JSON Schema of the configuration file (pipelines/config/schema.json) accepts every file
`config export` writes and names what is wrong in a bad one."""

import json
from functools import cache

import pytest
import yaml
from jsonschema import Draft202012Validator

from connectors.kinds import REGISTRY
from connectors.serializers import ConnectorSerializer
from pipelines.config.document import dump
from pipelines.config.export import SERVER_FIELDS, export_connector, export_workspace
from tests.helpers import make_connector
from tests.pipelines.config.test_round_trip import build_workspace


@cache
def validator() -> Draft202012Validator:
    from pipelines.config.document import SCHEMA_FILE

    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]


@pytest.fixture
def private_ok(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_every_exported_document_validates(api, httpserver, private_ok):
    build_workspace(api, httpserver.url_for("").rstrip("/"))
    workspace = export_workspace()
    assert len(workspace["connectors"]) == 4 and len(workspace["pipelines"]) == 3
    # Through YAML and back, as a person's editor reads the file.
    assert problems(yaml.safe_load(dump(workspace))) == []
    for connector in workspace["connectors"]:
        assert problems(connector) == []
    for pipeline in workspace["pipelines"]:
        assert problems(pipeline) == []


def test_an_empty_workspace_and_a_bare_connector_validate(db):
    assert problems(export_workspace()) == []
    assert problems(export_connector(make_connector("mailbox", "Box"))) == []


def test_it_names_what_is_wrong():
    bad = {
        "connectors": [
            {"slug": "a", "name": "A", "kind": "mailbox", "url": "https://example.com"},
            {"slug": "b", "name": "B", "kind": "fax"},
        ]
    }
    found = " | ".join(problems(bad))
    assert "['connectors', 0]: 'url' is not one of" in found
    assert "'fax' is not one of" in found
    assert problems({"connectors": [], "colour": "blue"}) != []
    assert problems({"slug": "x", "name": "X", "kind": "mailbox", "retention_days": "a week"})


def test_each_kind_allows_exactly_the_keys_the_api_writes():
    """A key added to a kind (connectors/kinds.py) must be added to the schema too."""
    schema = validator().schema
    connector = schema["$defs"]["connector"]
    allowed = {
        rule["if"]["properties"]["kind"]["const"]: set(rule["then"]["propertyNames"]["enum"])
        for rule in connector["allOf"]
    }
    writable = {
        name
        for name, field in ConnectorSerializer().fields.items()
        if not field.read_only and name not in SERVER_FIELDS
    }
    for name, kind in REGISTRY.items():
        expected = {"name", "slug", "kind", "description", "enabled", "schema", *kind.fields}
        if name.startswith("http_"):
            expected.add("headers")
        if name == "http_destination":
            expected.add("previous_signing_secret")
        expected -= SERVER_FIELDS
        assert allowed[name] == expected, name
        assert expected <= writable
    assert set(connector["properties"]) == set().union(*allowed.values())
