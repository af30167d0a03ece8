"""How a pipeline's records go into a mailbox: every one stored as sent, in order, in few statements."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection, transaction

from mailbox.models import (
    POSTGRES_ONE_STATEMENT_UPTO,
    ROWS_PER_INSERT,
    MailboxRecord,
    append_records,
)
from tests.mailbox.conftest import put

# Text that COPY's and SQL's quoting must carry unchanged.
AWKWARD = "tab\there, line\nbreak, back\\slash, quote ' and \", \\N, naïve 東京 🚚"


def orders(count: int) -> list[dict]:
    return [
        {"order_id": n, "email": f"customer{n}@example.com", "customer": {"name": f"{AWKWARD} {n}"}}
        for n in range(count)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "count",
    [1, 49, POSTGRES_ONE_STATEMENT_UPTO, POSTGRES_ONE_STATEMENT_UPTO + 1, ROWS_PER_INSERT * 2 + 1],
)
def test_it_stores_every_record_of_a_batch_as_sent_and_in_order(outbox, poll, count):
    put(outbox, {"order_id": -1, "email": "first@example.com"})
    records = orders(count)

    last = put(outbox, *records)

    assert last == count + 1
    stored = list(MailboxRecord.objects.filter(mailbox=outbox, seq__gt=1).order_by("seq"))
    assert [r.seq for r in stored] == list(range(2, count + 2))
    assert [orjson.loads(r.data) for r in stored] == records
    assert len({r.created_at for r in stored}) == 1
    page = poll(outbox, limit=1000).json()["records"]
    assert len(page) == min(count + 1, 1000)
    assert [r["data"] for r in page[1:]] == records[:999]
    assert page[-1]["created_at"].endswith("Z")


@pytest.mark.django_db
def test_it_appends_a_big_batch_without_a_statement_per_record(outbox):
    """PostgreSQL gets the rows of a batch too big for one statement in one COPY (executemany would run 1,000 INSERTs, each a parse,
    a bind and an execute, while the mailbox's sequence row stays locked); SQLite gets
    multi-row INSERTs of ROWS_PER_INSERT rows."""
    executed = []

    def spy(execute, sql, params, many, context):
        if "mailbox_mailboxrecord" in sql:
            executed.append(len(params) if many else 1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        put(outbox, *orders(ROWS_PER_INSERT * 2 + 1))

    # COPY does not pass through Django's execute wrappers: nothing to see on PostgreSQL.
    assert executed == {"postgresql": [], "sqlite": [1, 1, 1]}[connection.vendor]
    assert MailboxRecord.objects.filter(mailbox=outbox).count() == ROWS_PER_INSERT * 2 + 1


@pytest.mark.django_db
def test_it_appends_a_small_batch_in_one_statement(outbox):
    """On PostgreSQL the sequence numbers are taken in the same statement (one round trip);
    SQLite takes them first, then inserts."""
    put(outbox, {"order_id": -1, "email": "first@example.com"})  # the sequence row exists
    executed = []

    def spy(execute, sql, params, many, context):
        if "mailbox_mailbox" in sql:
            executed.append(sql.split()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        put(outbox, *orders(49))

    assert executed == {"postgresql": ["WITH"], "sqlite": ["UPDATE", "INSERT"]}[connection.vendor]
    assert MailboxRecord.objects.filter(mailbox=outbox).count() == 50


@pytest.mark.django_db
def test_a_batch_of_several_statements_is_stored_whole_or_not_at_all(outbox):
    """The rows are made statement by statement, all in the caller's transaction: a failure
    after them leaves neither the records nor their sequence numbers taken."""
    put(outbox, {"order_id": -1, "email": "first@example.com"})
    texts = [orjson.dumps(r).decode() for r in orders(ROWS_PER_INSERT * 2 + 1)]

    with pytest.raises(RuntimeError), transaction.atomic():
        append_records(outbox, texts)
        raise RuntimeError("the run's transaction fails after the mailbox's rows")

    assert MailboxRecord.objects.filter(mailbox=outbox).count() == 1
    assert put(outbox, {"order_id": 0, "email": "next@example.com"}) == 2
