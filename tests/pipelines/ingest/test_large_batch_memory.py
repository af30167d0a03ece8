"""A large batch is held about once at a time: by the time its transaction writes, the records
it came from are gone and only what is written (mailbox texts, delivery payloads) is left."""

from __future__ import annotations

import tracemalloc

import orjson

from mailbox.models import MailboxRecord
from pipelines.delivery.models import Delivery
from pipelines.ingest import receive as ingest
from pipelines.ingest.receive import accept_batch
from tests.helpers import make_connector, make_pipeline
from tests.pipelines.conftest import ORDER_FIELDS

COUNT = 2000
NAME = 5000  # characters of each record's customer name: the bulk of the batch


def order(n: int) -> dict:
    return {
        "order_id": n,
        "email": f"c{n}@example.com",
        "customer": {"name": f"{n:05}" + "x" * (NAME - 5)},
    }


def test_it_frees_the_records_before_the_transaction_writes_them(orders, monkeypatch):
    box = make_connector("mailbox", "Box", ORDER_FIELDS)
    hooks = make_connector(
        "http_destination",
        "Hooks",
        ORDER_FIELDS,
        url="https://hooks.example.com/in",
        batch_size=500,
    )
    make_pipeline(orders, box, name="To the box")
    make_pipeline(orders, hooks, name="To the hooks")
    real_store_all = ingest.store_all
    held = []

    def measure_then_store(*args, **kwargs):
        held.append(tracemalloc.get_traced_memory()[0] - before)
        return real_store_all(*args, **kwargs)

    monkeypatch.setattr(ingest, "store_all", measure_then_store)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        response = accept_batch(orders, [order(n) for n in range(COUNT)])
    finally:
        tracemalloc.stop()

    assert response.status_code == 202, response.data
    # Two encoded copies are written (one per destination); the records themselves, parsed
    # and cleaned, were a third.
    batch = COUNT * NAME
    assert held[0] < 2.3 * batch, f"{held[0] / batch:.1f}x the names held while writing"
    rows = MailboxRecord.objects.filter(mailbox=box).order_by("seq")
    assert [orjson.loads(r.data)["order_id"] for r in rows] == list(range(COUNT))
    deliveries = Delivery.objects.filter(destination=hooks).order_by("id")
    assert [d.record_count for d in deliveries] == [500] * 4
    assert [r["order_id"] for d in deliveries for r in d.records] == list(range(COUNT))
