"""Listing a mailbox's consumers with their backlogs, and forgetting one that stopped reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailbox.models import ConsumerCursor, MailboxRecord, backlog, purge_acknowledged_records
from tests.helpers import make_connector
from tests.mailbox.conftest import put

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONTH_LATER = MONDAY + timedelta(days=30)


def order(n: int) -> dict:
    return {"order_id": n, "email": f"{n}@example.com"}


def take(mailbox, poll, ack, consumer: str, limit: int) -> None:
    """Read `limit` records as `consumer` and acknowledge them."""
    cursor = poll(mailbox, consumer=consumer, limit=limit).json()["next"]
    ack(mailbox, {"cursor": cursor, "consumer": consumer})


def listing(mailbox) -> list[tuple[str, int, int]]:
    return [(c.consumer, c.position, c.backlog) for c in ConsumerCursor.consumers_of(mailbox)]


def counted(mailbox) -> list[tuple[str, int, int]]:
    """The same listing with every backlog counted row by row, the slow way."""
    return [
        (c.consumer, c.position, MailboxRecord.objects.after(mailbox.pk, c.position).count())
        for c in ConsumerCursor.objects.filter(mailbox=mailbox).order_by("consumer")
    ]


def test_it_lists_each_consumer_with_its_position_and_backlog(outbox, poll, ack):
    put(outbox, *(order(n) for n in range(1, 6)))
    take(outbox, poll, ack, "crm", limit=3)
    poll(outbox, consumer="billing")

    assert listing(outbox) == [("billing", 0, 5), ("crm", 3, 2)]


def test_it_tells_when_each_consumer_last_acknowledged(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2))
        poll(outbox, consumer="billing")
        take(outbox, poll, ack, "crm", limit=1)
    with time_machine.travel(MONDAY + timedelta(hours=3), tick=False):
        take(outbox, poll, ack, "crm", limit=1)

    billing, crm = ConsumerCursor.consumers_of(outbox)

    assert billing.acknowledged_at is None
    assert crm.acknowledged_at == MONDAY + timedelta(hours=3)


def test_it_lists_a_mailbox_nobody_has_read_as_having_no_consumers(outbox):
    put(outbox, order(1))

    assert ConsumerCursor.consumers_of(outbox) == []


def test_the_listing_counts_no_rows_however_many_consumers(outbox, poll, ack):
    put(outbox, *(order(n) for n in range(1, 6)))
    for consumer in ("billing", "crm", "audit", "search"):
        take(outbox, poll, ack, consumer, limit=2)

    with CaptureQueriesContext(connection) as queries:
        ConsumerCursor.consumers_of(outbox)

    assert len(queries) == 3
    assert not any("COUNT(" in q["sql"].upper() for q in queries)


def test_the_backlog_stays_exact_after_a_purge(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, *(order(n) for n in range(1, 6)))
        take(outbox, poll, ack, "billing", limit=3)
        take(outbox, poll, ack, "crm", limit=2)
    with time_machine.travel(MONTH_LATER, tick=False):
        assert purge_acknowledged_records(outbox) == 2
        put(outbox, order(6))
        # Registered after the purge: it starts at the oldest record still kept, #3.
        poll(outbox, consumer="audit")

    assert listing(outbox) == [("audit", 0, 4), ("billing", 3, 3), ("crm", 2, 4)]
    assert listing(outbox) == counted(outbox)
    assert backlog(outbox, "audit") == 4


def test_an_old_cursor_acknowledged_after_a_purge_counts_from_the_oldest_kept_record(
    outbox, poll, ack
):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2), order(3))
        first = poll(outbox, limit=1).json()["next"]
        take(outbox, poll, ack, "default", limit=2)
    with time_machine.travel(MONTH_LATER, tick=False):
        assert purge_acknowledged_records(outbox) == 2
        ack(outbox, {"cursor": first, "consumer": "late"})

    assert listing(outbox) == [("default", 2, 1), ("late", 1, 1)]
    assert listing(outbox) == counted(outbox)


def test_an_emptied_mailbox_has_no_backlog(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2))
        take(outbox, poll, ack, "billing", limit=2)
    with time_machine.travel(MONTH_LATER, tick=False):
        assert purge_acknowledged_records(outbox) == 2
        poll(outbox, consumer="audit")

    assert listing(outbox) == [("audit", 0, 0), ("billing", 2, 0)]

    put(outbox, order(3))

    assert listing(outbox) == [("audit", 0, 1), ("billing", 2, 1)]
    assert listing(outbox) == counted(outbox)


def test_a_purge_leaves_no_gap_when_a_later_record_is_older(outbox, poll, ack):
    # Two workers whose clocks disagree: records 2 and 3 are stamped a day before record 1.
    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        put(outbox, order(1))
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(2), order(3))
        take(outbox, poll, ack, "billing", limit=2)

    with time_machine.travel(MONDAY + timedelta(days=7, hours=12), tick=False):
        # Record 2 is past the retention, but record 1 before it is not: both stay.
        assert purge_acknowledged_records(outbox) == 0
        poll(outbox, consumer="audit")

    assert listing(outbox) == [("audit", 0, 3), ("billing", 2, 1)]
    assert listing(outbox) == counted(outbox)

    with time_machine.travel(MONDAY + timedelta(days=8, hours=1), tick=False):
        ConsumerCursor.forget(outbox, "audit")
        assert purge_acknowledged_records(outbox) == 2


def test_forgetting_an_abandoned_consumer_lets_the_purge_proceed(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2), order(3))
        take(outbox, poll, ack, "billing", limit=3)
        poll(outbox, consumer="retired")
    with time_machine.travel(MONTH_LATER, tick=False):
        assert purge_acknowledged_records(outbox) == 0

        assert ConsumerCursor.forget(outbox, "retired") is True

        assert purge_acknowledged_records(outbox) == 3
    assert listing(outbox) == [("billing", 3, 0)]


def test_forgetting_an_unknown_consumer_changes_nothing(outbox, poll):
    put(outbox, order(1))
    poll(outbox, consumer="billing")

    assert ConsumerCursor.forget(outbox, "crm") is False
    assert listing(outbox) == [("billing", 0, 1)]


def test_forgetting_touches_only_that_mailbox(outbox, poll):
    other = make_connector("mailbox", "Other")
    other.token = other.rotate_token()
    poll(outbox, consumer="billing")
    poll(other, consumer="billing")

    ConsumerCursor.forget(outbox, "billing")

    assert listing(outbox) == []
    assert listing(other) == [("billing", 0, 0)]


def test_a_forgotten_consumer_that_reads_again_starts_at_the_oldest_kept_record(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2), order(3))
        take(outbox, poll, ack, "billing", limit=2)
        take(outbox, poll, ack, "retired", limit=1)
    with time_machine.travel(MONTH_LATER, tick=False):
        ConsumerCursor.forget(outbox, "retired")
        purge_acknowledged_records(outbox)

        ids = [r["id"] for r in poll(outbox, consumer="retired").json()["records"]]

    assert ids == [3]
    assert listing(outbox) == [("billing", 2, 1), ("retired", 0, 1)]
