"""A slow or hostile receiver costs one timeout, never a worker held for minutes, never a
delivery sent twice at once, and never the other destinations' turn."""

from __future__ import annotations

import queue
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from connectors import sample_request
from pipelines.delivery.courier import deliver, deliver_many
from pipelines.delivery.models import Delivery
from pipelines.delivery.tasks import sweep_deliveries
from tests.hostile_peers import Peer, answer, drip, silent
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def in_thread(work) -> threading.Thread:
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_it_ends_an_attempt_at_the_timeout_however_slowly_the_receiver_answers(db):
    with Peer(drip(body_length=1000, every=0.2)) as peer:
        destination = make_destination(peer.url("/hooks"), timeout_seconds=1)
        delivery = make_delivery(destination, [{"id": 1}])
        started = time.monotonic()
        status = deliver(delivery.pk)

    assert time.monotonic() - started < 1 + 1.0
    assert status == Delivery.Status.PENDING
    attempt = delivery.attempt_log.get()
    assert attempt.error == "timed out: the destination took longer than 1 s to answer"
    assert attempt.status_code is None


@pytest.mark.django_db(transaction=True)
def test_it_never_sends_a_delivery_again_while_its_first_attempt_still_runs():
    # The receiver drips its answer for 12 s, a byte every half second (each read well within
    # the 1 s timeout), longer than the lease of a 1 s timeout (8 s): sweeps and duplicate tasks
    # keep coming while the first attempt runs.
    with Peer(drip(body_length=24, every=0.5)) as peer:
        destination = make_destination(
            peer.url("/hooks"), timeout_seconds=1, initial_backoff_seconds=60
        )
        delivery = make_delivery(destination, [{"id": 1}])
        first = in_thread(lambda: deliver(delivery.pk))
        while first.is_alive():
            sweep_deliveries()
            deliver_many([delivery.pk])
            time.sleep(0.25)

    assert len(peer.exchanges) == 1
    assert peer.overlapping("Idempotency-Key") == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_to_a_healthy_destination_while_a_slow_one_drips(httpserver):
    # Two workers; tasks for the slow destination A were queued first, then B's.
    arrived: list[float] = []

    def healthy(request):
        from werkzeug import Response

        arrived.append(time.monotonic())
        return Response("", status=200)

    httpserver.expect_request("/b").respond_with_handler(healthy)
    with Peer(drip(body_length=1000, every=0.2)) as slow:
        a = make_destination(slow.url("/a"), timeout_seconds=1)
        b = make_destination(httpserver.url_for("/b"))
        a_ids = [make_delivery(a, [{"id": n}]).pk for n in range(10)]
        b_ids = [make_delivery(b, [{"id": n}]).pk for n in range(3)]
        tasks: queue.Queue = queue.Queue()
        for task in (a_ids[:5], a_ids[5:], b_ids):
            tasks.put(task)

        def worker() -> None:
            while True:
                try:
                    ids = tasks.get_nowait()
                except queue.Empty:
                    return
                deliver_many(ids)

        started = time.monotonic()
        workers = [in_thread(worker) for _ in range(2)]
        for thread in workers:
            thread.join(30)

    assert len(arrived) == 3
    assert max(arrived) - started < 3.0
    # Each worker spent one timeout on A, then A waits: its deliveries are all still to come.
    assert len(slow.exchanges) == 2
    statuses = set(Delivery.objects.filter(pk__in=a_ids).values_list("status", flat=True))
    assert statuses == {Delivery.Status.PENDING}
    waiting = Delivery.objects.filter(pk__in=a_ids, attempts=0)
    assert waiting.count() == 8
    assert all(d.next_attempt_at > timezone.now() + timedelta(seconds=20) for d in waiting)


@pytest.mark.django_db(transaction=True)
def test_it_caps_the_requests_in_flight_to_a_destination_without_a_limit(settings):
    settings.DELIVERY_DEFAULT_CONCURRENCY = 2
    with Peer(answer(200, b"", after=0.3)) as peer:
        destination = make_destination(peer.url("/hooks"))
        chunks = [[make_delivery(destination, [{"id": n}]).pk for n in range(2)] for _ in range(4)]
        workers = [in_thread(lambda ids=ids: deliver_many(ids)) for ids in chunks]
        for thread in workers:
            thread.join(30)

    assert peer.most_at_once() == 2
    statuses = Delivery.objects.values_list("status", flat=True)
    assert set(statuses) == {Delivery.Status.DELIVERED}


def test_a_test_request_to_a_silent_destination_ends_before_the_page_waiting_on_it(db, monkeypatch):
    # The destination may take 10 s; the person waiting (45 s in production), and the worker,
    # get 2 s here.
    monkeypatch.setattr(sample_request, "SAMPLE_SECONDS", 2)
    with Peer(silent) as peer:
        destination = make_destination(peer.url("/hooks"), timeout_seconds=10)
        started = time.monotonic()
        result = sample_request.send_sample(destination.pk, {"id": 1})

    assert time.monotonic() - started < 2 + 1.5
    assert result["ok"] is False
    assert result["error"] == "timed out: the destination took longer than 2 s to answer"
