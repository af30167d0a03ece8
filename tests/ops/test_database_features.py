"""The database features the product leans on, under real concurrency, on SQLite and PostgreSQL.

SQLite serialises writers (IMMEDIATE transactions); PostgreSQL runs them at once and relies
on row locks (`select_for_update`) and guarded updates. `.ci/run` runs this file on both.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from pipelines.delivery.courier import deliver_many
from pipelines.delivery.models import Delivery
from pipelines.pull.models import PullLock
from pipelines.runs.models import RecordError, Run, RunStat
from tests.helpers import make_connector, make_pipeline

THREADS = 6


def at_once(work, count: int = THREADS) -> list:
    """Run `work(i)` in `count` threads released together; their results, or their exceptions."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:  # surfaced by the caller's assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_only_one_of_many_concurrent_runs_takes_a_source():
    source = make_connector(
        "http_source", "Orders", url="https://api.example.com/orders", method="GET"
    )
    runs = [Run.objects.create(source=source, trigger=Run.Trigger.SCHEDULE) for _ in range(THREADS)]

    taken = at_once(lambda i: PullLock.acquire(runs[i], lease_seconds=60))

    assert sorted(taken, key=str) == [False] * (THREADS - 1) + [True], (connection.vendor, taken)
    assert PullLock.objects.get(connector=source).run_id == runs[taken.index(True)].pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_delivery_exactly_once(httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/hooks").respond_with_data("ok")
    source = make_connector("ingest_endpoint", "Orders")
    destination = make_connector(
        "http_destination",
        "Hooks",
        [{"name": "id", "type": "integer"}],
        url=httpserver.url_for("/hooks"),
        method="POST",
    )
    pipeline = make_pipeline(source, destination)
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST, received=20, accepted=20)
    RunStat.objects.create(run=run, pipeline=pipeline, accepted=20)
    deliveries = [
        Delivery.objects.create(
            pipeline=pipeline, destination=destination, run=run, records=[{"id": n}]
        )
        for n in range(20)
    ]
    ids = [delivery.pk for delivery in deliveries]

    # Every worker is handed every delivery, as duplicated or re-queued tasks would.
    results = at_once(lambda i: deliver_many(ids), count=4)

    assert not [r for r in results if isinstance(r, Exception)], (connection.vendor, results)
    keys = [request.headers["Idempotency-Key"] for request, _ in httpserver.log]
    assert sorted(keys) == sorted(str(d.idempotency_key) for d in deliveries), connection.vendor
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DELIVERED}
    run.refresh_from_db()
    assert (run.delivered, run.failed) == (20, 0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_counts_on_a_run_are_never_lost():
    source = make_connector("ingest_endpoint", "Orders")
    pipeline = make_pipeline(source, make_connector("mailbox", "Outbox"))
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)
    RunStat.objects.create(run=run, pipeline=pipeline)

    def count(i: int) -> None:
        for _ in range(10):
            Run(pk=run.pk).count_delivery(pipeline.pk, delivered=1, failed=i % 2)

    assert at_once(count) == [None] * THREADS
    run.refresh_from_db()
    stat = RunStat.objects.get(run=run)
    assert (run.delivered, run.failed) == (10 * THREADS, 10 * (THREADS // 2)), connection.vendor
    assert (stat.delivered, stat.failed) == (run.delivered, run.failed)


@pytest.mark.django_db
def test_json_values_come_back_exactly_as_stored():
    source = make_connector("ingest_endpoint", "Orders")
    pipeline = make_pipeline(source, make_connector("mailbox", "Outbox"))
    record = {
        "text": 'Grüße, 東京, emoji 🎉, quote " and backslash \\',
        "big": 2**53 + 1,
        "negative": -7,
        "float": 0.1,
        "exponent": 1e-7,
        "flags": [True, False, None],
        "nested": {"a": {"b": [1, {"c": "d"}]}, "empty": {}},
        "empty_list": [],
    }
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST, detail={"request": record})
    RecordError.objects.create(
        run=run, index=0, record=record, errors=[{"field": "text", "message": "é"}]
    )
    delivery = Delivery.objects.create(
        pipeline=pipeline, destination=pipeline.destination, records=[record]
    )
    state = {"cursor": "2024-05-01T00:00:00.123456+00:00", "page": 3, "seen": ["a", "b"]}
    feed = make_connector(
        "http_source", "Feed", url="https://api.example.com/", method="GET", state=state
    )

    assert Run.objects.values_list("detail", flat=True).get(pk=run.pk) == {"request": record}, (
        connection.vendor
    )
    assert RecordError.objects.values_list("record", flat=True).get(run=run) == record
    assert Delivery.objects.get(pk=delivery.pk).records == [record]
    assert feed.__class__.objects.values_list("state", flat=True).get(pk=feed.pk) == state
