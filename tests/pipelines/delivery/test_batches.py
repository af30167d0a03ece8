"""One task delivers many deliveries of a destination: claimed together, recorded together, each
with its own outcome, and never sent twice."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django_q.models import Task
from django_q.signals import pre_enqueue
from django_q.tasks import async_task
from werkzeug import Response

from connectors.models import Connector
from pipelines.delivery import courier
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.delivery.queue import enqueue_deliveries
from pipelines.delivery.tasks import deliver_many, sweep_deliveries
from pipelines.runs.batches import prepare
from pipelines.runs.models import Run, RunStat
from tests.helpers import make_connector, make_pipeline
from tests.pipelines.delivery.destinations import make_delivery, make_destination

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture
def queued():
    """The delivery tasks queued during the test (they are not saved once they ran)."""
    tasks = []

    def keep(sender, task, **kwargs):
        if task["func"] == "pipelines.delivery.tasks.deliver_many":
            tasks.append(task)

    pre_enqueue.connect(keep, dispatch_uid="test-batches-queued")
    yield tasks
    pre_enqueue.disconnect(dispatch_uid="test-batches-queued")


def answer_by_id(statuses: dict[int, int]):
    """A receiver that answers each record with the status given for its id."""

    def handler(request):
        return Response("", status=statuses[json.loads(request.data)["id"]])

    return handler


def one_run(destination, records: list[dict]) -> tuple[Run, list[Delivery]]:
    """A run whose records became one delivery each, as ingest leaves them: pending."""
    source = make_connector("ingest_endpoint", "Orders")
    pipeline = make_pipeline(source, destination)
    run = Run.objects.create(
        source=source, trigger=Run.Trigger.INGEST, received=len(records), accepted=len(records)
    )
    RunStat.objects.create(run=run, pipeline=pipeline, accepted=len(records))
    deliveries = [
        Delivery.objects.create(pipeline=pipeline, destination=destination, run=run, records=[r])
        for r in records
    ]
    return run, deliveries


def test_it_records_each_outcome_of_a_mixed_batch(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_handler(answer_by_id({1: 200, 2: 503, 3: 400}))
    destination = make_destination(httpserver.url_for("/hooks"), initial_backoff_seconds=10)
    with time_machine.travel(START, tick=False):
        run, (ok, busy, bad) = one_run(destination, [{"id": 1}, {"id": 2}, {"id": 3}])
        statuses = deliver_many([ok.pk, busy.pk, bad.pk])

    assert statuses == {ok.pk: "delivered", busy.pk: "pending", bad.pk: "failed"}
    for delivery in (ok, busy, bad):
        delivery.refresh_from_db()
    assert (ok.status, ok.attempts, ok.last_status_code, ok.delivered_at) == (
        "delivered",
        1,
        200,
        START,
    )
    assert (busy.status, busy.attempts, busy.last_error) == ("pending", 1, "HTTP 503")
    assert 8 <= (busy.next_attempt_at - START).total_seconds() <= 12
    assert (bad.status, bad.attempts, bad.last_error) == ("failed", 1, "HTTP 400")
    assert {d.lease_expires_at for d in (ok, busy, bad)} == {None}
    attempts = DeliveryAttempt.objects.order_by("delivery_id")
    assert [(a.delivery_id, a.number, a.status_code) for a in attempts] == [
        (ok.pk, 1, 200),
        (busy.pk, 1, 503),
        (bad.pk, 1, 400),
    ]
    assert all(
        a.request_headers["Idempotency-Key"] == str(a.delivery.idempotency_key) for a in attempts
    )
    run.refresh_from_db()
    assert (run.delivered, run.failed) == (1, 1)
    assert list(run.stats.values_list("delivered", "failed")) == [(1, 1)]


def test_it_sends_nothing_twice_when_the_task_runs_twice(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    run, deliveries = one_run(destination, [{"id": n} for n in range(1, 6)])
    ids = [d.pk for d in deliveries]

    assert set(deliver_many(ids).values()) == {"delivered"}
    assert deliver_many(ids) == {}

    assert len(httpserver.log) == 5
    assert DeliveryAttempt.objects.count() == 5
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    run.refresh_from_db()
    assert run.delivered == 5


def test_it_skips_what_another_worker_holds(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    _, (held, free) = one_run(destination, [{"id": 1}, {"id": 2}])
    Delivery.objects.filter(pk=held.pk).update(
        status=Delivery.Status.DELIVERING,
        attempts=1,
        lease_expires_at=datetime(2099, 1, 1, tzinfo=UTC),
    )

    assert deliver_many([held.pk, free.pk]) == {free.pk: "delivered"}

    assert [json.loads(request.data) for request, _ in httpserver.log] == [{"id": 2}]
    held.refresh_from_db()
    assert (held.status, held.attempts) == ("delivering", 1)


def test_it_stops_a_batch_when_the_destination_answers_410(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("gone", status=410)
    destination = make_destination(httpserver.url_for("/hooks"))
    _, deliveries = one_run(destination, [{"id": n} for n in range(1, 4)])

    statuses = deliver_many([d.pk for d in deliveries])

    assert statuses == {deliveries[0].pk: "pending"}
    assert len(httpserver.log) == 1
    destination.refresh_from_db()
    assert not destination.enabled
    # The two never sent are handed back whole: no attempt used, nothing logged, waiting.
    rows = Delivery.objects.order_by("pk").values_list("status", "attempts", "lease_expires_at")
    assert list(rows) == [("pending", 1, None), ("pending", 0, None), ("pending", 0, None)]
    assert DeliveryAttempt.objects.count() == 1
    assert sweep_deliveries() == 0


def test_it_takes_along_the_deliveries_waiting_for_their_own_tasks(db, httpserver, monkeypatch):
    """One request per delivery: a task sends its destination's other due deliveries too,
    oldest first, and their own tasks then find nothing to do."""
    # Fast enough to be worth taking along however busy the machine running the test is: a
    # request slower than the threshold (20 ms) stops it, as it should
    # (test_it_takes_nothing_along_to_a_slow_destination).
    monkeypatch.setattr(courier, "TAKE_ALONG_BELOW_SECONDS", 10.0)
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    run, deliveries = one_run(destination, [{"id": n} for n in range(1, 6)])
    other = make_delivery(make_destination(httpserver.url_for("/hooks")), [{"id": 9}])
    later = make_delivery(destination, [{"id": 7}])
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=datetime(2099, 1, 1, tzinfo=UTC))

    statuses = deliver_many([deliveries[2].pk])

    assert statuses == {d.pk: "delivered" for d in deliveries}
    assert [json.loads(request.data)["id"] for request, _ in httpserver.log] == [3, 1, 2, 4, 5]
    for delivery in deliveries[1:]:
        assert deliver_many([delivery.pk]) == {}
    assert len(httpserver.log) == 5
    # Another destination's, and one not due yet, are left to their own tasks.
    assert Delivery.objects.get(pk=other.pk).status == "pending"
    assert Delivery.objects.get(pk=later.pk).status == "pending"
    run.refresh_from_db()
    assert run.delivered == 5


@pytest.mark.parametrize("limit", [{"max_concurrency": 2}, {"rate_limit_per_second": 50}])
def test_it_takes_nothing_along_to_a_limited_destination(db, httpserver, limit):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"), **limit)
    _, deliveries = one_run(destination, [{"id": n} for n in range(1, 4)])

    assert deliver_many([deliveries[0].pk]) == {deliveries[0].pk: "delivered"}

    assert len(httpserver.log) == 1


def test_it_takes_nothing_along_to_a_slow_destination(db, httpserver):
    """Requests slower than a task's fixed cost: the waiting deliveries' own tasks, on other
    workers, send them in parallel instead."""

    def slow(request):
        time.sleep(0.05)
        return Response("", status=200)

    httpserver.expect_request("/hooks").respond_with_handler(slow)
    destination = make_destination(httpserver.url_for("/hooks"))
    _, deliveries = one_run(destination, [{"id": n} for n in range(1, 4)])

    assert deliver_many([deliveries[0].pk]) == {deliveries[0].pk: "delivered"}

    assert len(httpserver.log) == 1


def test_it_saves_no_result_of_a_delivery_task(db, httpserver):
    """django-q2 would store each result and reread the last save_limit of them per task; a
    delivery's outcome is in our tables. The sweeper's results are kept: /healthz's heartbeat."""
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    delivery = make_delivery(make_destination(httpserver.url_for("/hooks")), [{"id": 1}])

    enqueue_deliveries([delivery.pk])
    async_task("pipelines.delivery.tasks.sweep_deliveries")

    assert Delivery.objects.get(pk=delivery.pk).status == "delivered"
    assert list(Task.objects.values_list("func", flat=True)) == [
        "pipelines.delivery.tasks.sweep_deliveries"
    ]


def test_it_delivers_a_task_mixing_destinations(db, httpserver):
    httpserver.expect_request("/a").respond_with_data("", status=200)
    httpserver.expect_request("/b").respond_with_data("", status=200)
    first = make_delivery(make_destination(httpserver.url_for("/a")), [{"id": 1}])
    second = make_delivery(make_destination(httpserver.url_for("/b")), [{"id": 2}])

    assert deliver_many([first.pk, second.pk]) == {first.pk: "delivered", second.pk: "delivered"}

    assert sorted(request.path for request, _ in httpserver.log) == ["/a", "/b"]


def test_it_queues_a_task_per_chunk_of_one_destination(
    db, httpserver, django_capture_on_commit_callbacks, queued
):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    source = make_connector("ingest_endpoint", "Orders", [{"name": "id", "type": "integer"}])
    pipeline = make_pipeline(source, destination)
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)

    with django_capture_on_commit_callbacks(execute=True):
        prepare(pipeline, [{"id": n} for n in range(250)]).store(run)

    assert [len(task["args"][0]) for task in queued] == [100, 100, 50]
    assert len(httpserver.log) == 250
    run.refresh_from_db()
    assert run.delivered == 250


def test_it_sweeps_a_task_per_destination(db, httpserver, queued):
    httpserver.expect_request("/a").respond_with_data("", status=200)
    httpserver.expect_request("/b").respond_with_data("", status=200)
    with time_machine.travel(START, tick=False) as traveller:
        to_a, to_b = (
            make_destination(httpserver.url_for("/a")),
            make_destination(httpserver.url_for("/b")),
        )
        for destination in (to_a, to_a, to_b):
            make_delivery(destination, [{"id": 1}])
        traveller.shift(6 * 60)  # their first tasks were lost
        assert sweep_deliveries() == 3

    assert sorted(len(task["args"][0]) for task in queued) == [1, 2]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_writes_outcomes_while_the_batch_is_still_sending(httpserver):
    seen = {}

    def handler(request):
        record_id = json.loads(request.data)["id"]
        if record_id == 1:
            time.sleep(1.2)  # longer than a flush interval
        else:
            # Read from the receiver's thread: its own connection sees only what was committed.
            seen.update(
                (d.records[0]["id"], d.status) for d in Delivery.objects.select_related("payload")
            )
            connection.close()
        return Response("", status=200)

    httpserver.expect_request("/hooks").respond_with_handler(handler)
    destination = make_destination(httpserver.url_for("/hooks"))
    _, deliveries = one_run(destination, [{"id": 1}, {"id": 2}])

    deliver_many([d.pk for d in deliveries])

    assert seen == {1: "delivered", 2: "delivering"}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_it_leaves_the_deliveries_of_a_disabled_destination_waiting(db, httpserver):
    destination = make_destination(httpserver.url_for("/hooks"))
    _, deliveries = one_run(destination, [{"id": 1}, {"id": 2}])
    Connector.objects.filter(pk=destination.pk).update(enabled=False)

    assert deliver_many([d.pk for d in deliveries]) == {}

    assert len(httpserver.log) == 0
    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 0)}


def test_it_sweeps_destinations_in_turns(db, httpserver, monkeypatch):
    # A's backlog is older and larger than one sweep takes; B's one delivery still gets its turn.
    monkeypatch.setattr("pipelines.delivery.replay.SWEEP_LIMIT", 200)
    httpserver.expect_request("/a").respond_with_data("", status=200)
    httpserver.expect_request("/b").respond_with_data("", status=200)
    with time_machine.travel(START, tick=False) as traveller:
        to_a = make_destination(httpserver.url_for("/a"))
        to_b = make_destination(httpserver.url_for("/b"))
        first = make_delivery(to_a, [{"id": 0}])
        Delivery.create_batches(
            first.pipeline, first.run, [(1, f'[{{"id": {n}}}]') for n in range(1, 300)]
        )
        traveller.shift(60)
        make_delivery(to_b, [{"id": 1}])
        traveller.shift(6 * 60)  # their first tasks were lost
        assert sweep_deliveries() == 101

    paths = [request.path for request, _ in httpserver.log]
    assert paths == ["/a"] * 100 + ["/b"]
