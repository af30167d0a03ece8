"""A destination that answers 410, or fails for days, is disabled; its deliveries wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from connectors.models import Connector
from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from pipelines.delivery.tasks import sweep_deliveries
from tests.pipelines.delivery.destinations import make_delivery, make_destination

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_disables_a_destination_that_answers_410(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("gone", status=410)
    destination = make_destination(httpserver.url_for("/hooks"))
    first = make_delivery(destination, [{"id": 1}])
    second = make_delivery(destination, [{"id": 2}])

    assert deliver(first.pk) == Delivery.Status.PENDING
    assert deliver(second.pk) is None

    destination.refresh_from_db()
    assert not destination.enabled
    assert "410" in destination.disabled_reason
    assert len(httpserver.log) == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    assert sweep_deliveries() == 0


def test_it_sends_the_waiting_deliveries_once_enabled_again(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(
        httpserver.url_for("/hooks"), enabled=False, disabled_reason="410"
    )
    with time_machine.travel(START, tick=False) as traveller:
        delivery = make_delivery(destination, [{"id": 1}])
        traveller.shift(1)
        assert deliver(delivery.pk) is None
        Connector.objects.filter(pk=destination.pk).update(enabled=True, disabled_reason="")
        traveller.shift(60)
        assert sweep_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED


def test_it_disables_a_destination_failing_for_days(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=500)
    destination = make_destination(
        httpserver.url_for("/hooks"),
        disable_after_failing_days=2,
        max_attempts=50,
        initial_backoff_seconds=3600,
    )
    with time_machine.travel(START, tick=False) as traveller:
        delivery = make_delivery(destination, [{"id": 1}])
        deliver(delivery.pk)
        destination.refresh_from_db()
        assert destination.failing_since == START
        for _ in range(10):
            traveller.shift(timedelta(hours=12))
            sweep_deliveries()

    destination.refresh_from_db()
    assert not destination.enabled
    assert "since 2026-03-02 09:00" in destination.disabled_reason
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING


def test_it_forgets_past_failures_after_a_success(db, httpserver):
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=500)
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"), initial_backoff_seconds=1)
    with time_machine.travel(START, tick=False) as traveller:
        delivery = make_delivery(destination, [{"id": 1}])
        deliver(delivery.pk)
        traveller.shift(60)
        sweep_deliveries()

    destination.refresh_from_db()
    assert destination.failing_since is None
    assert destination.enabled
