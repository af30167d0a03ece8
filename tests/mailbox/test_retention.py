from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from mailbox.models import MailboxRecord
from mailbox.tasks import purge_acknowledged
from tests.helpers import make_connector
from tests.mailbox.conftest import put

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def order(n: int) -> dict:
    return {"order_id": n, "email": f"{n}@example.com"}


def kept(mailbox) -> list[int]:
    return list(MailboxRecord.objects.filter(mailbox=mailbox).values_list("seq", flat=True))


def test_it_purges_acknowledged_records_past_the_retention(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2), order(3))
        ack(outbox, {"cursor": poll(outbox, limit=2).json()["next"]})

    with time_machine.travel(MONDAY + timedelta(days=7, minutes=1), tick=False):
        purged = purge_acknowledged()

    assert purged == 2
    assert kept(outbox) == [3]


def test_it_keeps_acknowledged_records_within_the_retention(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1))
        ack(outbox, {"cursor": poll(outbox).json()["next"]})

    with time_machine.travel(MONDAY + timedelta(days=6, hours=23), tick=False):
        assert purge_acknowledged() == 0

    assert kept(outbox) == [1]


def test_it_never_purges_unacknowledged_records(outbox, poll):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2))
        poll(outbox)

    with time_machine.travel(MONDAY + timedelta(days=365), tick=False):
        assert purge_acknowledged() == 0

    assert kept(outbox) == [1, 2]


def test_a_mailbox_nobody_has_read_keeps_everything(outbox):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1))

    with time_machine.travel(MONDAY + timedelta(days=365), tick=False):
        assert purge_acknowledged() == 0

    assert kept(outbox) == [1]


def test_it_waits_for_every_consumer(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2), order(3))
        poll(
            outbox, consumer="crm"
        )  # crm is known from its first read, though it acknowledged nothing
        ack(
            outbox,
            {"cursor": poll(outbox, consumer="billing").json()["next"], "consumer": "billing"},
        )

    with time_machine.travel(MONDAY + timedelta(days=30), tick=False):
        assert purge_acknowledged() == 0
        ack(
            outbox,
            {"cursor": poll(outbox, consumer="crm", limit=1).json()["next"], "consumer": "crm"},
        )
        assert purge_acknowledged() == 1

    assert kept(outbox) == [2, 3]


def test_the_retention_is_per_mailbox(outbox, poll, ack):
    brief = make_connector("mailbox", "Brief", retention_days=1)
    brief.token = brief.rotate_token()
    with time_machine.travel(MONDAY, tick=False):
        for mailbox in (outbox, brief):
            put(mailbox, order(1))
            ack(mailbox, {"cursor": poll(mailbox).json()["next"]})

    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        assert purge_acknowledged() == 1

    assert kept(outbox) == [1] and kept(brief) == []


def test_reading_goes_on_after_a_purge(outbox, poll, ack):
    with time_machine.travel(MONDAY, tick=False):
        put(outbox, order(1), order(2))
        cursor = poll(outbox, limit=1).json()["next"]
        ack(outbox, {"cursor": cursor})

    with time_machine.travel(MONDAY + timedelta(days=8), tick=False):
        purge_acknowledged()
        put(outbox, order(3))
        ids = [r["id"] for r in poll(outbox).json()["records"]]

    assert ids == [2, 3]
