"""kill -9 of the whole worker cluster in the middle of deliveries, then a restart.

The restarted cluster runs on a clock moved an hour on: a restart after that much
downtime, when every lease and broker lock of the dead cluster has run out (the test
would otherwise wait for them in real time). Then every record is delivered, none twice:
the receiver applies each Idempotency-Key once, and sees a key again only for the
requests that were in flight when the workers died.
"""

from __future__ import annotations

import sys
import time

import pytest
import requests

from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run
from pipelines.schedules import ensure_schedules
from tests.crash.processes import WebServer, Workers
from tests.helpers import make_connector, make_pipeline

RECORDS = 40
WORKERS = 2
# Longer than every lease and than the broker's retry (Q_CLUSTER['retry']).
DOWNTIME_SECONDS = 3600
FIELDS = [{"name": "id", "type": "integer", "required": True}]


def wait_until(condition, timeout: float, what: str, *logs) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            details = "\n".join(process.log()[-4000:] for process in logs)
            raise AssertionError(f"{what} not within {timeout} s\n{details}")
        time.sleep(0.1)


def delivered() -> int:
    return Delivery.objects.filter(status=Delivery.Status.DELIVERED).count()


@pytest.mark.slow
def test_every_record_is_delivered_once_after_the_workers_are_killed(
    live_env, processes, receiver, tmp_path
):
    ensure_schedules()
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    destination = make_connector(
        "http_destination",
        "Hooks",
        FIELDS,
        url=receiver.url,
        method="POST",
        batch_size=1,
        timeout_seconds=2,
    )
    make_pipeline(source, destination)
    env = {**live_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    web = WebServer(env, tmp_path / "web.log", workers=1, threads=2)
    processes.append(web.start())
    first = Workers(env, tmp_path / "workers-1.log", workers=WORKERS)
    processes.append(first.start())

    answer = requests.post(
        f"{web.url}/api/v1/ingest/{source.slug}/",
        json=[{"id": n} for n in range(RECORDS)],
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == RECORDS

    wait_until(lambda: receiver.requests >= 6, 30, "the first deliveries", first, web)
    first.kill()
    recorded_before_the_kill = {
        str(key)
        for key in Delivery.objects.filter(status=Delivery.Status.DELIVERED).values_list(
            "idempotency_key", flat=True
        )
    }
    assert len(recorded_before_the_kill) < RECORDS, (
        "the workers were killed too late to prove anything"
    )
    time.sleep(2 * receiver.delay)  # requests the dead workers had sent still arrive
    sent_before_the_kill = set(receiver.applied)

    t0 = time.monotonic()
    second = Workers(
        env, tmp_path / "workers-2.log", workers=WORKERS, clock_offset=DOWNTIME_SECONDS
    )
    processes.append(second.start())
    # Redis loses the tasks the dead cluster had taken: the sweeper (scheduled every minute,
    # run by the cluster's scheduler within ~30 s of its start) queues them again.
    wait_until(lambda: delivered() == RECORDS, 120, "every delivery delivered", second, web)
    print("recovered in", time.monotonic() - t0, file=sys.stderr)

    keys = set(Delivery.objects.values_list("idempotency_key", flat=True))
    assert set(receiver.applied) == {str(key) for key in keys}
    assert sorted(receiver.record_ids()) == list(range(RECORDS))
    # Only requests whose outcome the dead workers had not written down can come again, once.
    assert set(receiver.repeats) <= sent_before_the_kill - recorded_before_the_kill, (
        receiver.repeats
    )
    assert set(receiver.repeats.values()) <= {1}, receiver.repeats
    run = Run.objects.get()
    assert (run.delivered, run.failed) == (RECORDS, 0)

    # Counted once each, summed over every process of the host, the killed ones included.
    metrics = requests.get(f"{web.url}/metrics", timeout=30).text
    assert 'superconnector_records_received_total{trigger="ingest"} 40.0' in metrics
    assert 'superconnector_records_delivered_total{kind="http_destination"} 40.0' in metrics
