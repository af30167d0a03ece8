"""Every verification scheme through the real ingest endpoint (CONTRACT v2)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from connectors.verification import REGISTRY, clean_verification, sign_example
from pipelines.ingest.models import VerificationFailure
from pipelines.ingest.receive import previous_secret_used_at
from pipelines.runs.models import IdempotencyKey, Run
from tests.helpers import VERIFICATION_SETTINGS, make_connector

FIELDS = [{"name": "order_id", "type": "integer", "required": True}]
CONFIGS = VERIFICATION_SETTINGS
WRONG = {
    "standard_webhooks": {"secret": "whsec_" + base64.b64encode(b"another-key-entirely").decode()},
    "basic": {"password": "not the password"},
}
MISSING = {
    "standard_webhooks": "no webhook-id header",
    "stripe": "no Stripe-Signature header",
    "github": "no X-Hub-Signature-256 header",
    "shopify": "no X-Shopify-Hmac-Sha256 header",
    "slack": "no X-Slack-Signature header",
    "hmac": "no X-Signature header",
    "basic": "no Authorization header",
}
SIGNED_BODY = [name for name in CONFIGS if name != "basic"]
TIMESTAMPED = ["standard_webhooks", "stripe", "slack"]


def endpoint(scheme: str, **overrides):
    connector = make_connector("ingest_endpoint", f"Hooks {scheme}", FIELDS)
    connector.verification = clean_verification({**CONFIGS[scheme], **overrides})
    connector.save()
    return connector


def body_of(record: dict) -> bytes:
    return json.dumps(record).encode()


def send(connector, body: bytes, headers: dict, query: str = ""):
    return Client().generic(
        "POST",
        f"/api/v1/ingest/{connector.slug}/{query}",
        body,
        content_type="application/json",
        headers=headers,
    )


def signed(connector, body: bytes, now: float | None = None, config: dict | None = None):
    return sign_example(config or connector.verification, body, now or time.time())


def assert_refused(response, reason: str, *never: str):
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": reason}
    assert response.headers["WWW-Authenticate"]
    for value in never:
        assert value not in response.content.decode()


@pytest.mark.parametrize("scheme", CONFIGS)
def test_it_accepts_a_correct_signature_and_stores_the_records(db, scheme):
    connector = endpoint(scheme)
    body = body_of({"id": "evt_1", "order_id": 7})
    response = send(connector, body, signed(connector, body))
    assert response.status_code == 202, response.content
    run = Run.objects.get(source=connector)
    assert (run.received, run.accepted) == (1, 1)
    assert not VerificationFailure.objects.exists()


@pytest.mark.parametrize("scheme", SIGNED_BODY)
def test_a_tampered_body_is_401(db, scheme):
    connector = endpoint(scheme)
    headers = signed(connector, body_of({"order_id": 7}))
    response = send(connector, body_of({"order_id": 700}), headers)
    assert_refused(response, "signature does not match", connector.verification["secret"])
    assert not Run.objects.exists()


@pytest.mark.parametrize("scheme", CONFIGS)
def test_a_wrong_secret_is_401_and_never_shows_the_expected_value(db, scheme):
    connector = endpoint(scheme)
    body = body_of({"order_id": 7})
    now = time.time()
    wrong = clean_verification({**CONFIGS[scheme], **WRONG.get(scheme, {"secret": "wrong"})})
    expected = signed(connector, body, now)
    response = send(connector, body, signed(connector, body, now, config=wrong))
    reason = "username or password does not match" if scheme == "basic" else None
    assert_refused(
        response,
        reason or "signature does not match",
        *[value for name, value in expected.items() if "timestamp" not in name.lower()],
        *[connector.verification.get(key, "") or "-" for key in ("secret", "password")],
    )
    assert not Run.objects.exists()


@pytest.mark.parametrize("scheme", TIMESTAMPED)
def test_a_stale_timestamp_is_401(db, scheme):
    connector = endpoint(scheme)
    body = body_of({"id": "evt_1", "order_id": 7})
    response = send(connector, body, signed(connector, body, time.time() - 301))
    assert_refused(response, "timestamp too old (more than 300 s)")
    assert not Run.objects.exists()


@pytest.mark.parametrize("scheme", CONFIGS)
def test_a_missing_header_is_401_naming_it(db, scheme):
    connector = endpoint(scheme)
    response = send(connector, body_of({"order_id": 7}), {})
    assert_refused(response, MISSING[scheme])


def test_a_signature_scheme_needs_no_bearer_token_and_a_token_alone_does_not_pass(db):
    connector = endpoint("github")
    token = connector.rotate_token()
    response = send(connector, body_of({"order_id": 7}), {"Authorization": f"Bearer {token}"})
    assert_refused(response, "no X-Hub-Signature-256 header", token)


@pytest.mark.parametrize("scheme", ["standard_webhooks", "stripe"])
def test_a_replayed_event_is_answered_as_the_first_and_stored_once(db, scheme):
    connector = endpoint(scheme)
    body = body_of({"id": "evt_1001", "order_id": 7})
    headers = signed(connector, body)
    first = send(connector, body, headers)
    again = send(connector, body, headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Run.objects.filter(source=connector).count() == 1


def test_another_event_id_is_stored_again(db):
    connector = endpoint("stripe")
    for event in ("evt_1", "evt_2"):
        body = body_of({"id": event, "order_id": 7})
        assert send(connector, body, signed(connector, body)).status_code == 202
    assert Run.objects.filter(source=connector).count() == 2


def test_an_event_id_older_than_twice_the_tolerance_is_a_new_delivery(db):
    connector = endpoint("standard_webhooks", tolerance_seconds=60)
    body = body_of({"order_id": 7})
    assert send(connector, body, signed_with_id(connector, body, "msg_1")).status_code == 202
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=121))
    again = send(connector, body, signed_with_id(connector, body, "msg_1"))
    assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
    assert Run.objects.filter(source=connector).count() == 2
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.parametrize("scheme", ["standard_webhooks", "stripe"])
def test_a_replay_is_stored_once_while_its_timestamp_still_passes(db, scheme):
    # A sender whose clock runs 50 s ahead: its request still passes the timestamp check
    # 110 s after it was first answered, past the first answer's own 60 s. A replay then was
    # taken for a new delivery and stored a second time.
    connector = endpoint(scheme, tolerance_seconds=60)
    body = body_of({"id": "evt_1", "order_id": 7})
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    headers = signed(connector, body, start.timestamp() + 50)
    with time_machine.travel(start, tick=False):
        first = send(connector, body, headers)
    with time_machine.travel(start + timedelta(seconds=110), tick=False):
        again = send(connector, body, headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Run.objects.filter(source=connector).count() == 1


def signed_with_id(connector, body: bytes, msg_id: str) -> dict:
    scheme = REGISTRY["standard_webhooks"]
    return scheme.sign(connector.verification, body, int(time.time()), msg_id=msg_id)


@pytest.mark.parametrize("scheme", ["github", "stripe", "basic"])
def test_the_previous_secret_still_verifies_during_a_rotation(db, scheme):
    old = CONFIGS[scheme]
    new = {**old, **WRONG.get(scheme, {"secret": "the-new-secret"})}
    key = "previous_password" if scheme == "basic" else "previous_secret"
    secret_key = "password" if scheme == "basic" else "secret"
    connector = endpoint(scheme, **{secret_key: new[secret_key], key: old[secret_key]})
    body = body_of({"id": "evt_1", "order_id": 7})
    by_new = send(connector, body, signed(connector, body))
    assert by_new.status_code == 202
    assert previous_secret_used_at(connector.pk) is None
    body = body_of({"id": "evt_2", "order_id": 8})
    by_old = send(connector, body, signed(connector, body, config=clean_verification(old)))
    assert by_old.status_code == 202, by_old.content
    assert previous_secret_used_at(connector.pk) is not None


def test_the_token_scheme_keeps_the_v1_message(orders, post):
    response = post(orders, {"order_id": 1, "email": "a@example.com"}, token="sc_wrong")
    assert_refused(
        response,
        "Missing or invalid token. Send `Authorization: Bearer <token>` of this endpoint.",
    )
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_query_token_works_only_when_allowed(orders, client):
    url = f"/api/v1/ingest/{orders.slug}/?token={orders.token}"
    record = {"order_id": 1, "email": "a@example.com"}
    assert client.post(url, record, content_type="application/json").status_code == 401
    orders.verification = clean_verification({"scheme": "token", "allow_query_token": True})
    orders.save()
    assert client.post(url, record, content_type="application/json").status_code == 202
    wrong = f"/api/v1/ingest/{orders.slug}/?token=sc_wrong"
    assert client.post(wrong, record, content_type="application/json").status_code == 401


def test_it_answers_a_websub_challenge_as_plain_text(orders, client):
    url = f"/api/v1/ingest/{orders.slug}/"
    response = client.get(url, {"hub.mode": "subscribe", "hub.challenge": "c-123"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"c-123"
    with_token = {"hub.mode": "subscribe", "hub.challenge": "c-1", "hub.verify_token": "nope"}
    refused = client.get(url, with_token)
    assert_refused(refused, "hub.verify_token does not match")
    with_token["hub.verify_token"] = orders.token
    assert client.get(url, with_token).content == b"c-1"
    assert client.get(url).status_code == 405


def test_it_answers_slacks_url_verification_once_signed_and_stores_nothing(db):
    connector = endpoint("slack")
    body = body_of(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "token": "x",
        }
    )
    response = send(connector, body, signed(connector, body))
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert not Run.objects.exists()
    assert_refused(send(connector, body, {}), "no X-Slack-Signature header")


def test_failures_are_kept_without_secrets_and_pruned_to_the_last_twenty(db):
    connector = endpoint("github")
    body = body_of({"order_id": 7})
    wrong = signed(connector, body, config=clean_verification({**CONFIGS["github"], "secret": "x"}))
    for _ in range(VerificationFailure.KEEP + 3):
        send(connector, body, wrong)
    send(connector, body, {})
    failures = list(VerificationFailure.latest(connector))
    assert len(failures) == VerificationFailure.objects.count() == VerificationFailure.KEEP
    assert failures[0].reason == "no X-Hub-Signature-256 header"
    assert {f.reason for f in failures[1:]} == {"signature does not match"}
    assert failures[0].scheme == "github"
    stored = " ".join(f.reason for f in failures)
    assert wrong["X-Hub-Signature-256"] not in stored and "Secret" not in stored


def test_a_made_up_stripe_signature_over_a_deeply_nested_body_is_401_not_500(db):
    connector = endpoint("stripe")
    headers = {"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"}
    response = send(connector, b"[" * 100_000, headers)
    assert_refused(response, "signature does not match")


@pytest.mark.parametrize("scheme", ["standard_webhooks", "stripe"])
def test_a_replay_across_a_secret_rotation_is_answered_once_then_refused(db, scheme):
    connector = endpoint(scheme)
    old = connector.verification
    body = body_of({"id": "evt_1", "order_id": 7})
    headers = signed(connector, body)
    assert send(connector, body, headers).status_code == 202
    new_secret = WRONG.get(scheme, {"secret": "whsec_the_new_one"})["secret"]
    connector.verification = clean_verification(
        {**CONFIGS[scheme], "secret": new_secret, "previous_secret": old["secret"]}
    )
    connector.save()
    during = send(connector, body, headers)
    assert during.status_code == 202 and during.headers["Idempotent-Replayed"] == "true"
    connector.verification = clean_verification({**CONFIGS[scheme], "secret": new_secret})
    connector.save()
    assert_refused(send(connector, body, headers), "signature does not match")
    assert Run.objects.filter(source=connector).count() == 1
