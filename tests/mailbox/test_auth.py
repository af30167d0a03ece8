from __future__ import annotations

import pytest

from tests.helpers import make_connector
from tests.mailbox.conftest import put


def test_it_refuses_a_missing_or_wrong_token(outbox, client, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})

    missing = client.get(f"/api/v1/mailbox/{outbox.slug}/")
    wrong = poll(outbox, token="sc_wrong")

    assert missing.status_code == wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert "records" not in wrong.json()


def test_another_mailboxs_token_gets_the_same_401(outbox, poll, ack):
    other = make_connector("mailbox", "Other")
    other_token = other.rotate_token()

    read = poll(outbox, token=other_token)

    assert read.status_code == 401
    assert read.json() == poll(outbox, token="sc_wrong").json()
    assert ack(outbox, {"cursor": "x"}, token=other_token).status_code == 401


def test_an_ingest_token_does_not_open_a_mailbox(db, poll):
    endpoint = make_connector("ingest_endpoint", "In")
    token = endpoint.rotate_token()

    response = poll(endpoint, token=token)

    assert response.status_code == 404


def test_an_unknown_slug_is_404(db, client):
    assert client.get("/api/v1/mailbox/nope/").status_code == 404
    assert client.post("/api/v1/mailbox/nope/ack/", {}).status_code == 404


def test_a_rotated_token_stops_working_and_cursors_survive(outbox, poll):
    put(
        outbox, {"order_id": 1, "email": "a@example.com"}, {"order_id": 2, "email": "b@example.com"}
    )
    cursor = poll(outbox, limit=1).json()["next"]
    old_token = outbox.token

    new_token = outbox.rotate_token()

    assert poll(outbox, token=old_token).status_code == 401
    assert [r["id"] for r in poll(outbox, token=new_token, after=cursor).json()["records"]] == [2]


def test_a_disabled_mailbox_is_403(outbox, poll, ack):
    outbox.enabled = False
    outbox.save()

    assert poll(outbox).status_code == 403
    assert ack(outbox, {"cursor": "x"}).status_code == 403


def test_only_get_reads_and_only_post_acknowledges(outbox, client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {outbox.token}"}

    assert client.post(f"/api/v1/mailbox/{outbox.slug}/", {}, **auth).status_code == 405
    assert client.delete(f"/api/v1/mailbox/{outbox.slug}/", **auth).status_code == 405
    assert client.get(f"/api/v1/mailbox/{outbox.slug}/ack/", **auth).status_code == 405


@pytest.fixture
def two_per_minute(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "mailbox": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def test_it_throttles_per_mailbox_with_retry_after(outbox, poll, two_per_minute):
    assert [poll(outbox).status_code for _ in range(2)] == [200, 200]

    throttled = poll(outbox)

    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    other = make_connector("mailbox", "Other")
    other.token = other.rotate_token()
    assert poll(other).status_code == 200
