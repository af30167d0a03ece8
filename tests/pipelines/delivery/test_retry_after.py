"""A 429 with Retry-After: the next attempt waits at least that long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def test_it_waits_as_long_as_retry_after_says(db, httpserver):
    httpserver.expect_ordered_request("/hooks").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=202)
    destination = make_destination(httpserver.url_for("/hooks"), initial_backoff_seconds=1)

    with time_machine.travel(START, tick=False) as traveller:
        delivery = make_delivery(destination, [{"id": 1}])
        assert deliver(delivery.pk) == Delivery.Status.PENDING
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == START + timedelta(seconds=120)

        traveller.shift(119)
        assert sweep_deliveries() == 0
        traveller.shift(1)
        assert sweep_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert [a.status_code for a in delivery.attempt_log.all()] == [429, 202]


def test_it_caps_a_huge_retry_after(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data(
        "", status=503, headers={"Retry-After": "999999"}
    )
    destination = make_destination(httpserver.url_for("/hooks"))

    with time_machine.travel(START, tick=False):
        delivery = make_delivery(destination, [{"id": 1}])
        deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.next_attempt_at == START + timedelta(hours=1)
