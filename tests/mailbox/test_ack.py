from __future__ import annotations

from mailbox.models import ConsumerCursor
from tests.mailbox.conftest import put


def order(n: int) -> dict:
    return {"order_id": n, "email": f"{n}@example.com"}


def test_reading_without_after_starts_after_the_acknowledged_cursor(outbox, poll, ack):
    put(outbox, order(1), order(2), order(3))
    first = poll(outbox, limit=2).json()

    response = ack(outbox, {"cursor": first["next"]})

    assert response.status_code == 200
    assert response.json()["position"] == 2 and response.json()["consumer"] == "default"
    assert [r["id"] for r in poll(outbox).json()["records"]] == [3]


def test_reading_does_not_acknowledge(outbox, poll):
    put(outbox, order(1), order(2))

    poll(outbox)

    assert [r["id"] for r in poll(outbox).json()["records"]] == [1, 2]


def test_an_older_cursor_never_moves_the_consumer_back(outbox, poll, ack):
    put(outbox, order(1), order(2), order(3))
    early = poll(outbox, limit=1).json()["next"]
    late = poll(outbox, limit=3).json()["next"]
    ack(outbox, {"cursor": late})

    response = ack(outbox, {"cursor": early})

    assert response.status_code == 200
    assert response.json()["position"] == 3
    assert response.json()["cursor"] == late
    assert ConsumerCursor.objects.get(mailbox=outbox, consumer="default").position == 3


def test_acknowledging_twice_is_harmless(outbox, poll, ack):
    put(outbox, order(1))
    cursor = poll(outbox).json()["next"]

    assert ack(outbox, {"cursor": cursor}).json() == ack(outbox, {"cursor": cursor}).json()


def test_the_committed_cursor_reads_on_from_there(outbox, poll, ack):
    put(outbox, order(1), order(2))
    committed = ack(outbox, {"cursor": poll(outbox, limit=1).json()["next"]}).json()["cursor"]

    assert [r["id"] for r in poll(outbox, after=committed).json()["records"]] == [2]


def test_a_tampered_cursor_is_400(outbox, poll, ack):
    put(outbox, order(1), order(2))
    cursor = poll(outbox, limit=1).json()["next"]
    tampered = "2" + cursor[1:] if cursor[0] != "2" else "3" + cursor[1:]

    read = poll(outbox, after=tampered)
    acked = ack(outbox, {"cursor": tampered})

    assert read.status_code == 400 and read.json()["param"] == "after"
    assert "cursor" in read.json()["detail"]
    assert acked.status_code == 400 and acked.json()["param"] == "cursor"
    assert not ConsumerCursor.objects.filter(position__gt=0).exists()


def test_a_cursor_of_another_mailbox_is_400(outbox, poll, ack):
    from tests.helpers import make_connector

    other = make_connector("mailbox", "Other")
    other.token = other.rotate_token()
    put(other, order(1))
    put(outbox, order(1))
    foreign = poll(other).json()["next"]

    assert poll(outbox, after=foreign).status_code == 400
    assert ack(outbox, {"cursor": foreign}).status_code == 400


def test_it_refuses_an_ack_without_a_cursor(outbox, ack):
    response = ack(outbox, {})

    assert response.status_code == 400
    assert "cursor" in response.json()


def test_it_refuses_an_ack_that_is_not_json(outbox, client):
    response = client.post(
        f"/api/v1/mailbox/{outbox.slug}/ack/",
        b"cursor=abc",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {outbox.token}",
    )

    assert response.status_code == 400
