"""Retries with exponential backoff: 503, 503, 200 is one delivery; always 503 ends dead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from pipelines.delivery.tasks import sweep_deliveries
from tests.pipelines.delivery.destinations import make_delivery, make_destination

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_delivers_once_after_two_503s_backing_off(db, httpserver):
    for status in (503, 503, 200):
        httpserver.expect_ordered_request("/hooks").respond_with_data("", status=status)
    destination = make_destination(httpserver.url_for("/hooks"), initial_backoff_seconds=10)

    with time_machine.travel(START, tick=False) as traveller:
        delivery = make_delivery(destination, [{"id": 1}])
        assert deliver(delivery.pk) == Delivery.Status.PENDING
        delivery.refresh_from_db()
        first_wait = (delivery.next_attempt_at - START).total_seconds()
        assert 8 <= first_wait <= 12

        traveller.shift(first_wait - 1)
        assert sweep_deliveries() == 0  # not due yet
        traveller.shift(1)
        assert sweep_deliveries() == 1
        delivery.refresh_from_db()
        second_wait = (delivery.next_attempt_at - START).total_seconds() - first_wait
        assert 16 <= second_wait <= 24

        traveller.move_to(delivery.next_attempt_at)
        assert sweep_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log.all()] == [503, 503, 200]
    assert {request.headers["Idempotency-Key"] for request, _ in httpserver.log} == {
        str(delivery.idempotency_key)
    }
    assert len(httpserver.log) == 3
    delivery.run.refresh_from_db()
    assert (delivery.run.delivered, delivery.run.failed) == (1, 0)


def test_it_gives_up_after_max_attempts(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("down", status=503)
    destination = make_destination(
        httpserver.url_for("/hooks"), max_attempts=3, initial_backoff_seconds=1
    )

    with time_machine.travel(START, tick=False) as traveller:
        delivery = make_delivery(destination, [{"id": 1}])
        deliver(delivery.pk)
        for _ in range(5):
            traveller.shift(3600)
            sweep_deliveries()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DEAD
    assert delivery.attempts == 3
    assert len(httpserver.log) == 3
    assert delivery.last_error == "HTTP 503"
    assert delivery.attempt_log.last().response_excerpt == "down"
    delivery.run.refresh_from_db()
    assert (delivery.run.delivered, delivery.run.failed) == (0, 1)


def test_it_ignores_a_duplicate_task(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED
    assert deliver(delivery.pk) is None

    assert len(httpserver.log) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1
