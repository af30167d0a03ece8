"""Secret variables: named secrets templates use like `variables`, stored and shown like secret
headers (encrypted, masked, kept when sent back masked)."""

from __future__ import annotations

import pytest
from django.db import connection

from connectors import secrets
from connectors.models import Connector

WEBHOOK = "https://hooks.slack.com/services/T0001/B0002/sv-needle-1234567890"
FIELDS = {"fields": [{"name": "text", "type": "string", "required": True}]}


def create(api, **document):
    body = {
        "name": "Slack",
        "kind": "http_destination",
        "schema": FIELDS,
        "url": "{{ webhook_url }}",
        "method": "POST",
        "secret_variables": {"webhook_url": WEBHOOK},
        **document,
    }
    return api.post("/api/v1/connectors/", body, format="json")


def test_it_stores_them_encrypted_and_shows_only_the_mask(api, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    answer = create(api)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["secret_variables"] == {"webhook_url": secrets.MASK}
    assert answer.json()["url"] == "{{ webhook_url }}"
    assert "sv-needle" not in answer.content.decode()
    shown = api.get(f"/api/v1/connectors/{answer.json()['id']}/")
    assert shown.json()["secret_variables"] == {"webhook_url": secrets.MASK}
    assert "sv-needle" not in shown.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_variables FROM connectors_connector")
        (stored,) = cursor.fetchone()
    assert stored.startswith(secrets.ENCRYPTED_PREFIX)
    assert "sv-needle" not in stored
    assert Connector.objects.get().secret_variables == {"webhook_url": WEBHOOK}


def test_it_keeps_a_masked_value_replaces_a_new_one_and_removes_one_left_out(api, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    connector_id = create(
        api,
        secret_variables={"webhook_url": WEBHOOK, "token": "first-token", "old": "gone-soon"},
    ).json()["id"]
    answer = api.patch(
        f"/api/v1/connectors/{connector_id}/",
        {"secret_variables": {"webhook_url": secrets.MASK, "token": "second-token"}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["secret_variables"] == {
        "webhook_url": secrets.MASK,
        "token": secrets.MASK,
    }
    assert Connector.objects.get().secret_variables == {
        "webhook_url": WEBHOOK,
        "token": "second-token",
    }


def test_an_update_without_them_keeps_them(api, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    connector_id = create(api).json()["id"]
    answer = api.patch(f"/api/v1/connectors/{connector_id}/", {"name": "Renamed"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert Connector.objects.get().secret_variables == {"webhook_url": WEBHOOK}


def test_a_name_in_both_variables_and_secret_variables_is_refused(api):
    answer = create(api, variables={"webhook_url": "https://example.com/"})
    assert answer.status_code == 400
    assert "webhook_url" in answer.json()["secret_variables"][0]
    assert "variables" in answer.json()["secret_variables"][0]
    assert "sv-needle" not in answer.content.decode()


def test_a_constant_added_later_under_a_secret_name_is_refused(api, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    connector_id = create(api).json()["id"]
    answer = api.patch(
        f"/api/v1/connectors/{connector_id}/",
        {"variables": {"webhook_url": "x"}},
        format="json",
    )
    assert answer.status_code == 400
    assert "both variables and secret_variables" in answer.json()["secret_variables"][0]


@pytest.mark.parametrize(
    ("secret_variables", "message"),
    [
        ({"webhook_url": secrets.MASK}, "no stored value to keep"),
        ({"webhook_url": ""}, "Enter the value of 'webhook_url'"),
        ({"webhook-url": WEBHOOK}, "not a usable name"),
        ({"record": WEBHOOK}, "reserved"),
        ({"webhook_url": 12}, "must be a string"),
    ],
)
def test_bad_secret_variables_are_a_400_naming_them(api, secret_variables, message):
    answer = create(api, secret_variables=secret_variables)
    assert answer.status_code == 400
    assert message in str(answer.json()["secret_variables"])


def test_a_url_that_is_only_a_secret_variable_is_checked_once_filled_in(api, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    answer = create(api, secret_variables={"webhook_url": "ftp://files.example/sv-needle-ftp"})
    assert answer.status_code == 400
    assert "https://" in answer.json()["url"][0]
    answer = create(api, secret_variables={"webhook_url": "http://127.0.0.1:9/sv-needle-local"})
    assert answer.status_code == 400
    assert "ALLOW_PRIVATE_DESTINATIONS" in answer.json()["url"][0]
    assert "sv-needle" not in answer.content.decode()


def test_a_url_placeholder_that_is_no_variable_is_still_refused(api):
    answer = create(api, secret_variables={})
    assert answer.status_code == 400
    assert "webhook_url" in answer.json()["url"][0]


def test_other_kinds_ignore_them(api):
    answer = api.post(
        "/api/v1/connectors/",
        {"name": "In", "kind": "ingest_endpoint", "secret_variables": {"a_b": "value"}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert "secret_variables" not in answer.json()
    assert Connector.objects.get().secret_variables == {}
