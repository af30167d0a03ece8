"""Three presets against local fakes of the vendors' APIs: the request each sends is the one
the vendor documents (path, method, credentials, JSON body)."""

import json

import pytest
from rest_framework.test import APIClient

from connectors.models import Connector
from connectors.sample_request import send_sample
from pipelines.config.presets import all_presets, start_from


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def base(httpserver) -> str:
    return httpserver.url_for("").rstrip("/")


def test_customerio_send_email_from_an_ingested_record(
    db, httpserver, django_capture_on_commit_callbacks
):
    preset = all_presets()["customerio-transactional-email"]
    plan, _ = start_from(
        preset,
        {
            "app_api_key": "cio-app-key",
            "transactional_message_id": "3",
            "base_url": base(httpserver),
        },
    )
    # https://docs.customer.io/journeys/send/transactional/api-examples/: the request body of
    # "Send an email using a transactional message template".
    documented = {
        "to": "Sarah <sarah@example.io>",
        "transactional_message_id": 3,
        "message_data": {
            "first_name": "Sarah",
            "passwordResetURL": "https://www.example.io/password?token=12345",
        },
        "identifiers": {"email": "sarah@example.io"},
    }
    httpserver.expect_oneshot_request(
        "/v1/send/email",
        method="POST",
        headers={"Authorization": "Bearer cio-app-key", "Content-Type": "application/json"},
        json=documented,
    ).respond_with_json({"delivery_id": "RPILAgABcRhIBqSp7kiPekGBIeVh", "queued_at": 1613600000})

    record = {
        "email": " Sarah@Example.io ",
        "to": "Sarah <sarah@example.io>",
        "message_data": documented["message_data"],
    }
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/ingest/customerio-email-requests/",
            record,
            format="json",
            HTTP_AUTHORIZATION=f"Bearer {plan.tokens['customerio-email-requests']}",
        )
    assert response.status_code == 202, response.json()
    assert response.json()["accepted"] == 1
    httpserver.check_assertions()
    ((sent, _),) = httpserver.log
    assert json.loads(sent.data) == documented


def test_slack_incoming_webhook(db, httpserver):
    preset = all_presets()["slack-incoming-webhook"]
    start_from(preset, {"webhook_url": httpserver.url_for("/services/T00000000/B00000000/XXXX")})
    # https://api.slack.com/messaging/webhooks: POST the JSON {"text": ...} to the webhook URL.
    httpserver.expect_oneshot_request(
        "/services/T00000000/B00000000/XXXX",
        method="POST",
        headers={"Content-Type": "application/json"},
        json={"text": "Hello, world."},
    ).respond_with_data("ok")
    result = send_sample(Connector.objects.get().pk, {"text": "Hello, world."})
    assert result["ok"], result
    httpserver.check_assertions()


def test_hubspot_create_contact(db, httpserver):
    preset = all_presets()["hubspot-create-contact"]
    start_from(preset, {"access_token": "pat-na1-secret", "base_url": base(httpserver)})
    # https://developers.hubspot.com/docs/api/crm/contacts: "Create contacts with property values".
    documented = {
        "properties": {
            "email": "example@hubspot.com",
            "firstname": "Jane",
            "lastname": "Doe",
            "phone": "(555) 555-5555",
            "company": "HubSpot",
            "website": "hubspot.com",
            "lifecyclestage": "marketingqualifiedlead",
        }
    }
    httpserver.expect_oneshot_request(
        "/crm/v3/objects/contacts",
        method="POST",
        headers={"Authorization": "Bearer pat-na1-secret"},
        json=documented,
    ).respond_with_json({"id": "512", "properties": documented["properties"]}, status=201)
    result = send_sample(Connector.objects.get().pk, documented)
    assert result["ok"], result
    assert result["request"]["headers"]["Authorization"] == "********"
    httpserver.check_assertions()
