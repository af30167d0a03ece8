"""Rotating an HTTP destination's signing secret: the new secret is shown once, and for an overlap
period requests are signed with both, so receivers switch without dropping a request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors import outbound
from connectors.models import Connector
from tests.helpers import make_connector

OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def destination(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    return make_connector(
        "http_destination",
        name="Signed",
        url="https://hooks.example/in",
        method="POST",
        signing_secret=OLD,
    )


def signed(connector_pk: int):
    connector = Connector.objects.get(pk=connector_pk)
    request = outbound.render_request(connector, [{"id": 1}], idempotency_key="msg_1")
    return request.body, request.headers


def verifies(secret: str, body: bytes, headers: dict) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@time_machine.travel(START, tick=False)
def test_both_secrets_verify_during_the_overlap_and_only_the_new_one_after(api, destination):
    response = api.post(f"/api/v1/connectors/{destination.pk}/rotate-signing-secret/")
    assert response.status_code == 200, response.json()
    new = response.json()["signing_secret"]
    assert new.startswith("whsec_") and new != OLD
    assert response.json()["previous_signing_secret_expires_at"] == "2026-03-03T09:00:00Z"

    body, headers = signed(destination.pk)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verifies(new, body, headers) and verifies(OLD, body, headers)

    with time_machine.travel(START + timedelta(hours=23, minutes=59), tick=False):
        body, headers = signed(destination.pk)
        assert verifies(OLD, body, headers)

    with time_machine.travel(START + timedelta(hours=24, seconds=1), tick=False):
        body, headers = signed(destination.pk)
        assert len(headers["webhook-signature"].split(" ")) == 1
        assert verifies(new, body, headers) and not verifies(OLD, body, headers)
    connector = Connector.objects.get(pk=destination.pk)
    assert connector.previous_signing_secret == ""  # dropped, not just left unused
    assert connector.previous_signing_secret_expires_at is None


@time_machine.travel(START, tick=False)
def test_the_overlap_is_configurable(api, destination, settings):
    settings.SIGNING_SECRET_OVERLAP_HOURS = 2
    api.post(f"/api/v1/connectors/{destination.pk}/rotate-signing-secret/")
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        assert verifies(OLD, *signed(destination.pk))
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        assert not verifies(OLD, *signed(destination.pk))

    response = api.post(
        f"/api/v1/connectors/{destination.pk}/rotate-signing-secret/",
        {"overlap_hours": 0},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["previous_signing_secret_expires_at"] is None
    body, headers = signed(destination.pk)
    assert verifies(response.json()["signing_secret"], body, headers)
    assert len(headers["webhook-signature"].split(" ")) == 1


def test_the_new_secret_is_shown_once(api, destination):
    new = api.post(f"/api/v1/connectors/{destination.pk}/rotate-signing-secret/").json()[
        "signing_secret"
    ]
    shown = api.get(f"/api/v1/connectors/{destination.pk}/")
    assert new not in shown.content.decode() and OLD not in shown.content.decode()
    assert shown.json()["has_signing_secret"] is True
    assert shown.json()["previous_signing_secret_expires_at"]


def test_a_destination_without_a_secret_gets_its_first_one(api, destination):
    Connector.objects.filter(pk=destination.pk).update(signing_secret="")
    response = api.post(f"/api/v1/connectors/{destination.pk}/rotate-signing-secret/")
    assert response.status_code == 200
    assert response.json()["previous_signing_secret_expires_at"] is None
    assert Connector.objects.get(pk=destination.pk).previous_signing_secret == ""


def test_bad_requests_say_what_is_wrong(api, anonymous, destination):
    url = f"/api/v1/connectors/{destination.pk}/rotate-signing-secret/"
    for bad in (-1, 10_000, "soon"):
        response = api.post(url, {"overlap_hours": bad}, format="json")
        assert response.status_code == 400
        assert "overlap_hours" in response.json()
    assert api.get(url).status_code == 405
    assert anonymous.post(url).status_code == 401
    inbox = make_connector("ingest_endpoint", name="Inbox")
    response = api.post(f"/api/v1/connectors/{inbox.pk}/rotate-signing-secret/")
    assert response.status_code == 400 and "kind" in response.json()
    assert api.post("/api/v1/connectors/999999/rotate-signing-secret/").status_code == 404
    assert Connector.objects.get(pk=destination.pk).signing_secret == OLD


@time_machine.travel(START, tick=False)
def test_a_previous_secret_set_by_hand_is_kept_and_expires_too(api, destination):
    response = api.patch(
        f"/api/v1/connectors/{destination.pk}/",
        {"signing_secret": "whsec_bmV3LXNlY3JldC1mb3ItcGF0Y2g=", "previous_signing_secret": OLD},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["previous_signing_secret_expires_at"] == "2026-03-03T09:00:00Z"
    assert verifies(OLD, *signed(destination.pk))
    with time_machine.travel(START + timedelta(days=2), tick=False):
        assert not verifies(OLD, *signed(destination.pk))


def test_the_page_has_a_rotate_button_and_shows_the_new_secret_once(client, alice, destination):
    client.force_login(alice)
    page = client.get(f"/connectors/{destination.pk}/").content.decode()
    assert f'action="/connectors/{destination.pk}/rotate-signing-secret/"' in page
    assert "data-confirm=" in page

    response = client.post(f"/connectors/{destination.pk}/rotate-signing-secret/")
    assert response.status_code == 302
    new = Connector.objects.get(pk=destination.pk).signing_secret
    assert new != OLD
    first = client.get(response["Location"]).content.decode()
    assert new in first and "shown only once" in first
    assert new not in client.get(response["Location"]).content.decode()

    assert client.get(f"/connectors/{destination.pk}/rotate-signing-secret/").status_code == 405
