"""A worker SIGKILLed mid-request: once its lease expires the delivery completes, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from werkzeug import Response

from pipelines.delivery.models import Delivery
from pipelines.delivery.outcomes import lease_seconds
from pipelines.delivery.tasks import sweep_deliveries
from tests.crash.processes import database_url
from tests.pipelines.delivery.destinations import make_delivery, make_destination

WORKER = """
import django
django.setup()
from pipelines.delivery.courier import deliver
deliver({delivery_id})
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_completes_a_delivery_whose_worker_was_killed(httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    arrived, release = threading.Event(), threading.Event()

    def first_request_hangs(request):
        arrived.set()
        release.wait(20)
        return Response("too late for a dead worker")

    httpserver.expect_ordered_request("/hooks").respond_with_handler(first_request_hangs)
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"), timeout_seconds=2)
    delivery = make_delivery(destination, [{"id": 1}])

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "osmosproject.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "TESTING": "1",
        "ALLOW_PRIVATE_DESTINATIONS": "True",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER.format(delivery_id=delivery.pk)],
        cwd=django_settings.BASE_DIR,
        env=env,
    )
    try:
        assert arrived.wait(20), "the worker never sent its request"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        release.set()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERING, 1)
    assert sweep_deliveries() == 0  # the lease still holds

    later = timezone.now() + timedelta(seconds=lease_seconds(destination) + 1)
    with time_machine.travel(later, tick=False):
        assert sweep_deliveries() == 1
        assert sweep_deliveries() == 0

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 2
    first, second = delivery.attempt_log.all()
    assert "worker stopped" in first.error
    assert second.status_code == 200
    assert len(httpserver.log) == 2
    assert {request.headers["Idempotency-Key"] for request, _ in httpserver.log} == {
        str(delivery.idempotency_key)
    }
    delivery.run.refresh_from_db()
    assert (delivery.run.delivered, delivery.run.failed) == (1, 0)


def test_it_stops_retrying_a_delivery_that_kills_every_worker(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    destination = make_destination(httpserver.url_for("/hooks"), max_attempts=3)
    delivery = make_delivery(destination, [{"id": 1}])
    lease = timezone.now() + timedelta(seconds=10)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.DELIVERING, attempts=3, lease_expires_at=lease
    )

    with time_machine.travel(lease + timedelta(seconds=1), tick=False):
        assert sweep_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DEAD
    assert "no attempts are left" in delivery.last_error
    assert len(httpserver.log) == 0
    delivery.run.refresh_from_db()
    assert delivery.run.failed == 1
