"""Per-destination limits: never more requests per second, nor at once, than configured."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_spaces_requests_to_the_rate_limit(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"), rate_limit_per_second=4)
    deliveries = [make_delivery(destination, [{"id": n}]) for n in range(5)]

    started = time.monotonic()
    for delivery in deliveries:
        assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    # Four go at once; the fifth waits for the first to leave the one-second window.
    assert time.monotonic() - started >= 0.9
    assert len(httpserver.log) == 5


def test_it_waits_for_a_free_slot_then_leaves_it_to_the_sweeper(db, httpserver, monkeypatch):
    monkeypatch.setattr("pipelines.delivery.courier.LIMIT_WAIT_SECONDS", 0.3)
    destination = make_destination(httpserver.url_for("/hooks"), max_concurrency=1)
    busy = make_delivery(destination, [{"id": 1}])
    Delivery.objects.filter(pk=busy.pk).update(
        status=Delivery.Status.DELIVERING,
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    waiting = make_delivery(destination, [{"id": 2}])

    assert deliver(waiting.pk) is None

    waiting.refresh_from_db()
    assert waiting.status == Delivery.Status.PENDING
    assert waiting.attempts == 0
    assert waiting.next_attempt_at > timezone.now()
    assert len(httpserver.log) == 0
