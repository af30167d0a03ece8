"""With the SSRF guard on, a private destination is refused before any packet is sent."""

from __future__ import annotations

import pytest

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_it_refuses_a_loopback_destination(db, httpserver, settings, host):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(f"http://{host}:{httpserver.port}/hooks")
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    assert len(httpserver.log) == 0
    attempt = delivery.attempt_log.get()
    assert "ALLOW_PRIVATE_DESTINATIONS" in attempt.error
    assert attempt.status_code is None
    delivery.run.refresh_from_db()
    assert delivery.run.failed == 1


def test_it_refuses_a_private_address_rendered_from_the_record(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    destination = make_destination("http://{{ host }}:" + str(httpserver.port) + "/hooks")
    delivery = make_delivery(destination, [{"id": 1, "host": "127.0.0.1"}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    assert len(httpserver.log) == 0
