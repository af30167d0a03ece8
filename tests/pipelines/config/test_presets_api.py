"""GET /api/v1/presets/, GET /api/v1/presets/{name}/ and POST /api/v1/presets/{name}/create/."""

import pytest

from connectors.models import Connector
from pipelines.mapping.models import Pipeline

SLACK = {"webhook_url": "https://hooks.slack.com/services/T0/B0/XXXX"}


@pytest.fixture(autouse=True)
def _no_name_lookups(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_lists_the_presets_with_their_inputs(api):
    response = api.get("/api/v1/presets/")
    assert response.status_code == 200
    by_name = {p["name"]: p for p in response.json()}
    slack = by_name["slack-incoming-webhook"]
    assert slack["kind"] == "destination"
    assert slack["title"].startswith("Slack")
    assert slack["docs_url"].startswith("https://api.slack.com/")
    assert slack["inputs"][0] | {"example": "", "help": ""} == {
        "name": "webhook_url",
        "label": "Webhook URL",
        "secret": True,
        "required": True,
        "example": "",
        "default": "",
        "help": "",
    }
    assert {p["kind"] for p in by_name.values()} == {"source", "destination", "ingest"}


def test_it_shows_one_preset_with_its_document(api):
    response = api.get("/api/v1/presets/stripe-webhooks/")
    assert response.status_code == 200
    assert response.json()["document"]["connectors"][0]["verification"] == {
        "scheme": "stripe",
        "secret": {"input": "signing_secret"},
    }
    assert api.get("/api/v1/presets/nope/").status_code == 404


def test_it_creates_the_connectors_and_pipeline_and_shows_tokens_once(api):
    response = api.post(
        "/api/v1/presets/customerio-transactional-email/create/",
        {"inputs": {"app_api_key": "cio-key-1", "transactional_message_id": "3"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(c["slug"], c["kind"]) for c in body["connectors"]] == [
        ("customerio-email-requests", "ingest_endpoint"),
        ("customerio-transactional-email", "http_destination"),
    ]
    assert body["pipelines"] == [
        {"id": Pipeline.objects.get().pk, "name": "Email requests to Customer.io"}
    ]
    source = Connector.objects.get(slug="customerio-email-requests")
    assert source.check_token(body["tokens"]["customerio-email-requests"])
    destination = Connector.objects.get(slug="customerio-transactional-email")
    assert destination.auth == {"type": "bearer", "token": "cio-key-1"}
    # The secret is stored (encrypted), never echoed.
    assert "cio-key-1" not in response.content.decode()


@pytest.mark.parametrize(
    ("preset", "webhook_url"),
    [
        ("slack-incoming-webhook", "https://hooks.slack.com/services/T0/B0/slack-needle-77"),
        ("discord-webhook", "https://discord.com/api/webhooks/2237/discord-needle-77"),
    ],
)
def test_a_webhook_url_is_kept_as_a_secret_variable(api, preset, webhook_url):
    response = api.post(
        f"/api/v1/presets/{preset}/create/", {"inputs": {"webhook_url": webhook_url}}, format="json"
    )
    assert response.status_code == 201, response.json()
    connector = Connector.objects.get()
    assert connector.url == "{{ webhook_url }}"
    assert connector.secret_variables == {"webhook_url": webhook_url}
    shown = api.get(f"/api/v1/connectors/{connector.pk}/")
    assert shown.json()["secret_variables"] == {"webhook_url": "********"}
    assert "needle" not in response.content.decode() + shown.content.decode()


def test_missing_inputs_are_a_400_naming_each(api):
    response = api.post(
        "/api/v1/presets/mailchimp-add-member/create/", {"inputs": {}}, format="json"
    )
    assert response.status_code == 400
    assert [p["where"] for p in response.json()["problems"]] == [
        "inputs.api_key",
        "inputs.base_url",
        "inputs.list_id",
    ]
    assert not Connector.objects.exists()


def test_an_input_the_api_refuses_is_a_400_naming_the_field(api):
    response = api.post(
        "/api/v1/presets/slack-incoming-webhook/create/",
        {"inputs": {"webhook_url": "not a url"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["problems"][0]["where"] == "connectors[0].url"
    assert not Connector.objects.exists()


def test_bad_bodies_and_names(api):
    url = "/api/v1/presets/slack-incoming-webhook/create/"
    assert api.post(url, {"inputs": ["x"]}, format="json").status_code == 400
    assert api.post(url, [1], format="json").status_code == 400
    assert (
        api.post("/api/v1/presets/nope/create/", {"inputs": SLACK}, format="json").status_code
        == 404
    )
    assert api.get(url).status_code == 405
    assert api.post("/api/v1/presets/", {}, format="json").status_code == 405


def test_it_is_for_staff_only(anonymous, bob):
    assert anonymous.get("/api/v1/presets/").status_code in (401, 403)
    response = anonymous.post(
        "/api/v1/presets/slack-incoming-webhook/create/", {"inputs": SLACK}, format="json"
    )
    assert response.status_code in (401, 403)
    anonymous.force_authenticate(bob)
    assert anonymous.get("/api/v1/presets/").status_code == 403
    assert not Connector.objects.exists()
