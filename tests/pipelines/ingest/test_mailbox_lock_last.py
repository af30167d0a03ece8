"""The mailbox's sequence row is the last thing an ingest transaction locks.

Writers into one mailbox queue on that row from its UPDATE to the commit. Measured on
PostgreSQL under load (bench/bench_ingest.py's set-up), most of that wait was the holder
writing the run's counts and the idempotency answer after it: so those go first.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tests.helpers import make_connector, make_pipeline


@pytest.mark.parametrize("key", [None, "k-1"])
@pytest.mark.parametrize("records", [1, 200])
def test_after_taking_the_sequence_row_it_only_writes_the_records(orders, post, key, records):
    box = make_connector("mailbox", "Box", [{"name": "order_id", "type": "integer"}])
    make_pipeline(orders, box, [{"target": "order_id", "source": "order_id"}])
    statements = []

    def spy(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    body = [{"order_id": n, "email": f"c{n}@example.com"} for n in range(records)]
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with connection.execute_wrapper(spy):
        response = post(orders, body, **headers)

    assert response.status_code == 202, response.content
    # On PostgreSQL the UPDATE opens the statement that also inserts the records (a WITH).
    taken = max(i for i, sql in enumerate(statements) if 'UPDATE "mailbox_mailboxsequence"' in sql)
    after = [
        sql
        for sql in statements[taken + 1 :]
        # The records themselves (a COPY on PostgreSQL is not seen here), and the savepoint the
        # test's own transaction puts around the request's.
        if "mailbox_mailboxrecord" not in sql and "SAVEPOINT" not in sql
    ]
    assert after == []
