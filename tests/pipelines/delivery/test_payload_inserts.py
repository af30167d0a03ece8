"""Delivery payloads are written in statements of bounded size: a 10 MB run's payloads in one
INSERT would be copied again by the driver while it builds the statement. And each payload
lands on its own delivery, however they are written."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors.prepared import POSTGRES_COPY_FROM
from pipelines.delivery import models
from pipelines.delivery.models import Delivery, DeliveryPayload
from tests.connectors.test_prepared_insert import AWKWARD
from tests.pipelines.delivery.destinations import make_delivery, make_destination


def payload_inserts(queries) -> int:
    return sum(
        1 for query in queries if query["sql"].startswith('INSERT INTO "pipelines_deliverypayload"')
    )


def create(pipeline, sizes: list[int]) -> tuple[list[int], int]:
    """Deliveries of one record each, its note `size` characters long; their ids and how many
    payload INSERTs wrote them."""
    with CaptureQueriesContext(connection) as queries:
        ids = Delivery.create_batches(
            pipeline, None, [(1, DeliveryPayload.encode([{"note": "x" * size}])) for size in sizes]
        )
    return ids, payload_inserts(queries.captured_queries)


def test_it_writes_large_payloads_in_several_inserts(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline
    limit = models.PAYLOAD_INSERT_BYTES

    created, inserts = create(pipeline, [limit // 2 - 100] * 5)

    assert inserts == 3  # two payloads to an INSERT: a third would pass the limit
    assert DeliveryPayload.objects.filter(delivery__in=created).count() == 5
    assert [len(d.records[0]["note"]) for d in Delivery.objects.filter(pk__in=created)] == [
        limit // 2 - 100
    ] * 5


def test_it_writes_small_payloads_in_one_statement(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline

    created, inserts = create(pipeline, [100] * POSTGRES_COPY_FROM)

    # PostgreSQL gets them in one COPY, which Django's query log does not show.
    assert inserts == {"postgresql": 0, "sqlite": 1}[connection.vendor]
    assert DeliveryPayload.objects.filter(delivery__in=created).count() == POSTGRES_COPY_FROM


def test_it_writes_a_payload_larger_than_the_limit_alone(db):
    destination = make_destination("http://127.0.0.1:9/hooks")
    pipeline = make_delivery(destination, [{"id": 0}]).pipeline
    limit = models.PAYLOAD_INSERT_BYTES

    created, inserts = create(pipeline, [100, limit * 2, 100])

    assert inserts == 3
    assert DeliveryPayload.objects.filter(delivery__in=created).count() == 3


@pytest.mark.parametrize("count", [1, POSTGRES_COPY_FROM - 1, POSTGRES_COPY_FROM, 300])
def test_a_runs_batches_each_get_a_delivery_of_their_own(db, count):
    # What an HTTP destination's output makes of a run: no model instance per delivery, so
    # each column the batches do not share must still land on its own row.
    destination = make_destination("http://127.0.0.1:9/hooks")
    first = make_delivery(destination, [{"id": 0}])
    pipeline, run = first.pipeline, first.run
    batches = [
        (n % 3 + 1, DeliveryPayload.encode([{"id": n, "note": f"{AWKWARD} {n}"}] * (n % 3 + 1)))
        for n in range(count)
    ]
    before = timezone.now()

    ids = Delivery.create_batches(pipeline, run, batches)

    stored = {d.pk: d for d in Delivery.objects.filter(pk__in=ids).select_related("payload")}
    assert len(ids) == len(stored) == count
    assert ids == sorted(ids) and first.pk < ids[0]
    assert [(stored[i].record_count, stored[i].payload.body) for i in ids] == batches
    assert len({d.idempotency_key for d in stored.values()} | {first.idempotency_key}) == count + 1
    for delivery in stored.values():
        assert (delivery.pipeline_id, delivery.destination_id, delivery.run_id) == (
            pipeline.pk,
            destination.pk,
            run.pk,
        )
        assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 0
        assert before <= delivery.created_at <= delivery.updated_at <= timezone.now()
        assert before <= delivery.next_attempt_at <= timezone.now()
        assert delivery.queued_at is None and delivery.lease_expires_at is None
