"""A claim loads the payloads of the deliveries it takes all at once: it takes at most
CLAIM_SIZE deliveries and CLAIM_RECORDS records, so a worker delivering a run of big batches
holds a few of them in memory, never the whole run."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipelines.delivery import courier
from pipelines.delivery.models import Delivery, DeliveryPayload
from pipelines.delivery.tasks import deliver_many
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def deliveries_of(destination, sizes: list[int]) -> list[int]:
    first = make_delivery(destination, [{"id": n} for n in range(sizes[0])])
    rest = Delivery.create_batches(
        first.pipeline,
        first.run,
        [(size, DeliveryPayload.encode([{"id": n} for n in range(size)])) for size in sizes[1:]],
    )
    return [first.pk, *rest]


def claims(queries) -> int:
    return sum(
        1
        for query in queries
        if query["sql"].startswith('UPDATE "pipelines_delivery" SET "status"')
        and '"claimed_by"' in query["sql"].split("WHERE")[0]
    )


def test_it_claims_big_batches_a_few_at_a_time(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"), batch_size=1000)
    ids = deliveries_of(destination, [1000] * 5)

    with CaptureQueriesContext(connection) as queries:
        statuses = deliver_many(ids)

    assert set(statuses.values()) == {"delivered"} and len(statuses) == 5
    # 1,000 records each: two to a claim of at most CLAIM_RECORDS (2,000).
    assert courier.CLAIM_RECORDS == 2000
    assert claims(queries.captured_queries) == 3


def test_it_claims_small_batches_together(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    ids = deliveries_of(destination, [1] * 50)

    with CaptureQueriesContext(connection) as queries:
        statuses = deliver_many(ids)

    assert len(statuses) == 50
    assert claims(queries.captured_queries) == 1


def test_it_claims_a_batch_above_the_limit_alone(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"), batch_size=1000)
    ids = deliveries_of(destination, [3000, 10])

    with CaptureQueriesContext(connection) as queries:
        statuses = deliver_many(ids)

    assert len(statuses) == 2
    assert claims(queries.captured_queries) == 2
