"""A receiver slower than timeout_seconds: the attempt is a retryable timeout."""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_retries_a_request_that_timed_out(db, httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("too late")

    httpserver.expect_request("/hooks").respond_with_handler(slow)
    destination = make_destination(httpserver.url_for("/hooks"), timeout_seconds=1)
    delivery = make_delivery(destination, [{"id": 1}])

    started = time.monotonic()
    assert deliver(delivery.pk) == Delivery.Status.PENDING
    assert time.monotonic() - started < 1.4

    delivery.refresh_from_db()
    attempt = delivery.attempt_log.get()
    assert "timed out" in attempt.error
    assert attempt.status_code is None
    assert delivery.last_error == attempt.error
    # The receiver logs the request when its handler returns: wait for it here, or it lands in
    # the log of whichever test runs next.
    while not httpserver.log and time.monotonic() - started < 5:
        time.sleep(0.05)
    assert len(httpserver.log) == 1
