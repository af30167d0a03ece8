"""Every preset is a valid configuration file, starts on a fresh database from its example
inputs, and (for destinations) renders the request it would send."""

import json

import pytest
import yaml

from connectors import examples
from connectors.models import Connector
from connectors.outbound import render_request
from pipelines.config.document import DocumentError, parse
from pipelines.config.presets import PRESET_DIR, all_presets, references, start_from
from pipelines.mapping.models import Pipeline
from tests.pipelines.config.test_schema import validator

PRESETS = sorted(all_presets())


@pytest.fixture(autouse=True)
def _no_name_lookups(settings):
    # Vendor hosts are never resolved: no test sends a packet off this machine.
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_there_are_presets_of_each_kind():
    kinds = [preset.kind for preset in all_presets().values()]
    assert len(kinds) >= 15
    assert {"source", "destination", "ingest"} == set(kinds)


@pytest.mark.parametrize("path", sorted(PRESET_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_preset_file_validates_against_the_schema(path):
    document = yaml.safe_load(path.read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]
    assert errors == []
    assert document["preset"]["name"] == path.stem
    assert document["preset"]["docs_url"].startswith("https://")


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_uses_exactly_its_inputs(name):
    preset = all_presets()[name]
    assert references(preset.body) == {i.name for i in preset.inputs}
    # Secrets come from the person starting from the preset, never from the environment.
    assert "{'env'" not in str(preset.body)


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_starts_on_a_fresh_database_from_its_examples(db, name):
    preset = all_presets()[name]
    plan, document = start_from(preset, preset.examples())
    assert [c.action for c in plan.changes] == ["create"] * len(plan.changes)
    assert Connector.objects.count() == len(document["connectors"])
    assert Pipeline.objects.count() == len(document.get("pipelines", []))
    for connector in Connector.objects.all():
        assert connector.undecryptable_secrets() == []
        if connector.kind == Connector.Kind.HTTP_DESTINATION:
            record = examples.example_record(connector.schema.specs())
            clean, errors = connector.schema.compile().validate(record)
            assert errors == []
            request = render_request(connector, [clean], idempotency_key="test-1")
            assert request.url.startswith(("https://", "http://"))
            assert "{input" not in request.url and "{input" not in request.body.decode()
            json.loads(request.body)
        if connector.kind_class.has_token:
            assert plan.tokens[connector.slug].startswith("sc_")


def test_starting_twice_makes_a_second_set_instead_of_changing_the_first(db):
    preset = all_presets()["customerio-transactional-email"]
    start_from(preset, preset.examples())
    _, document = start_from(preset, {**preset.examples(), "app_api_key": "other-key"})
    assert [c["slug"] for c in document["connectors"]] == [
        "customerio-email-requests-2",
        "customerio-transactional-email-2",
    ]
    assert document["pipelines"][0]["name"] == "Email requests to Customer.io (2)"
    assert (
        Connector.objects.get(slug="customerio-transactional-email").auth["token"]
        == (preset.examples()["app_api_key"])
    )
    pipeline = Pipeline.objects.get(name="Email requests to Customer.io (2)")
    assert pipeline.source.slug == "customerio-email-requests-2"


def test_a_missing_input_is_named_and_nothing_is_created(db):
    preset = all_presets()["hubspot-create-contact"]
    with pytest.raises(DocumentError) as error:
        start_from(preset, {"access_token": "  "})
    assert error.value.problems == [
        ("inputs.access_token", None, "Enter Private app access token.")
    ]
    assert not Connector.objects.exists()


def test_a_default_fills_an_input_left_empty(db):
    preset = all_presets()["hubspot-create-contact"]
    start_from(preset, {"access_token": "pat-1"})
    assert Connector.objects.get().url == "https://api.hubapi.com/crm/v3/objects/contacts"


def test_a_preset_file_given_to_config_apply_says_how_to_use_it():
    text = (PRESET_DIR / "slack-incoming-webhook.yaml").read_text()
    with pytest.raises(DocumentError) as error:
        parse(text)
    ((where, line, message),) = error.value.problems
    assert (where, line) == ("preset", 2)
    assert "start from it" in message
