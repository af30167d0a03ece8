"""Delivery payloads are written in INSERTs of bounded size: a 10 MB run's payloads in one
INSERT would be copied twice more by PostgreSQL's driver (the UNNEST arrays of a bulk insert),
tripling the web process's memory for them."""

from __future__ import annotations

import gc
import weakref

from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipelines.delivery import models
from pipelines.delivery.models import Delivery, DeliveryPayload
from tests.pipelines.delivery.destinations import make_delivery, make_destination


def payload_inserts(queries) -> int:
    return sum(
        1 for query in queries if query["sql"].startswith('INSERT INTO "pipelines_deliverypayload"')
    )


def create(pipeline, destination, sizes: list[int]) -> tuple[list[Delivery], int]:
    with CaptureQueriesContext(connection) as queries:
        created = Delivery.create_all(
            [
                Delivery(pipeline=pipeline, destination=destination, records=[{"note": "x" * size}])
                for size in sizes
            ]
        )
    return created, payload_inserts(queries.captured_queries)


def test_it_writes_large_payloads_in_several_inserts(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline
    limit = models.PAYLOAD_INSERT_BYTES

    created, inserts = create(pipeline, destination, [limit // 2 - 100] * 5)

    assert inserts == 3  # two payloads to an INSERT: a third would pass the limit
    assert DeliveryPayload.objects.filter(delivery__in=created).count() == 5
    assert [
        len(d.records[0]["note"]) for d in Delivery.objects.filter(pk__in=[d.pk for d in created])
    ] == [limit // 2 - 100] * 5


def test_it_writes_small_payloads_in_one_insert(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline

    created, inserts = create(pipeline, destination, [100] * 50)

    assert inserts == 1
    assert DeliveryPayload.objects.filter(delivery__in=created).count() == 50


def test_it_writes_a_payload_larger_than_the_limit_alone(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline
    limit = models.PAYLOAD_INSERT_BYTES

    created, inserts = create(pipeline, destination, [100, limit * 2, 100])

    assert inserts == 3
    assert DeliveryPayload.objects.filter(delivery__in=created).count() == 3


def test_it_leaves_no_reference_cycle_holding_a_delivery_and_its_records(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline
    created, _ = create(pipeline, destination, [1000])
    delivery = weakref.ref(created[0])

    # A cycle (delivery <-> payload) waited for a full collection, a run's records with it: in
    # a busy web process, many requests later.
    gc.disable()
    try:
        del created
        assert delivery() is None
    finally:
        gc.enable()
