from __future__ import annotations

from mailbox.models import backlog
from tests.mailbox.conftest import put


def order(n: int) -> dict:
    return {"order_id": n, "email": f"{n}@example.com"}


def ids(response) -> list[int]:
    return [r["id"] for r in response.json()["records"]]


def test_two_consumers_read_one_mailbox_independently(outbox, poll, ack):
    put(outbox, order(1), order(2), order(3))
    billing_cursor = poll(outbox, consumer="billing", limit=2).json()["next"]
    ack(outbox, {"cursor": billing_cursor, "consumer": "billing"})

    assert ids(poll(outbox, consumer="billing")) == [3]
    assert ids(poll(outbox, consumer="crm")) == [1, 2, 3]
    assert ids(poll(outbox)) == [1, 2, 3]


def test_the_consumer_may_be_named_in_the_query_of_an_ack(outbox, poll, ack):
    put(outbox, order(1), order(2))
    cursor = poll(outbox, consumer="crm", limit=1).json()["next"]

    response = ack(outbox, {"cursor": cursor}, consumer="crm")

    assert response.json()["consumer"] == "crm"
    assert ids(poll(outbox, consumer="crm")) == [2]
    assert ids(poll(outbox)) == [1, 2]


def test_a_cursor_from_one_consumer_is_valid_for_another(outbox, poll, ack):
    put(outbox, order(1), order(2))
    cursor = poll(outbox, consumer="crm", limit=1).json()["next"]

    ack(outbox, {"cursor": cursor, "consumer": "billing"})

    assert ids(poll(outbox, consumer="billing")) == [2]


def test_backlog_counts_what_waits_after_each_consumers_cursor(outbox, poll, ack):
    put(outbox, order(1), order(2), order(3))
    ack(outbox, {"cursor": poll(outbox, consumer="crm", limit=2).json()["next"], "consumer": "crm"})

    assert backlog(outbox, "crm") == 1
    assert backlog(outbox) == 3
    assert backlog(outbox, "never-seen") == 3
