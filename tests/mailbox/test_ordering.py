from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.mailbox.conftest import put

WRITERS = 4
BATCHES = 25


@pytest.mark.django_db(transaction=True)
def test_a_reader_paging_beside_concurrent_writers_sees_every_record_once_in_order(outbox, poll):
    start = threading.Barrier(WRITERS + 1)
    failures = []

    def write(writer: int):
        try:
            start.wait()
            for batch in range(BATCHES):
                put(
                    outbox,
                    *(
                        {"order_id": batch, "email": f"w{writer}-{i}@example.com"}
                        for i in range(1 + batch % 3)
                    ),
                )
        except Exception as exc:  # surfaced by the assertion below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in writers:
        thread.start()
    start.wait()

    seen, cursor, read_while_writing = [], None, 0
    while True:
        writing = any(thread.is_alive() for thread in writers)
        page = poll(outbox, after=cursor, limit=7).json()
        seen += page["records"]
        read_while_writing += len(page["records"]) if writing else 0
        cursor = page["next"]
        if not writing and not page["has_more"]:
            break
    for thread in writers:
        thread.join()

    expected = WRITERS * sum(1 + b % 3 for b in range(BATCHES))
    assert failures == []
    assert read_while_writing > 0
    assert [r["id"] for r in seen] == list(range(1, expected + 1))
    for writer in range(WRITERS):
        # Each writer's batches arrive whole and in the order it wrote them.
        mine = [r["data"]["order_id"] for r in seen if r["data"]["email"].startswith(f"w{writer}-")]
        assert mine == sorted(mine) and len(mine) == sum(1 + b % 3 for b in range(BATCHES))
