"""What the product counts and logs as records flow through it, for `/metrics` and the logs.

Counters live in each process. gunicorn and qcluster run several processes, so in
production every process of a host gets `PROMETHEUS_MULTIPROC_DIR` (one shared, empty
directory at boot) and `/metrics` adds their files up: prometheus_client's multiprocess
mode. The queue is measured in the database at scrape time instead, so its depth is the
same whichever process or host answers.

The `record_*` functions are the one-line hooks the flow calls, inside its transactions;
they count (and write the structured log line of their event, ids as `extra` fields for
the JSON-lines formatter) when that transaction commits: a rolled-back run never happened.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.utils import timezone
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

runs_log = logging.getLogger("superconnector.runs")
deliveries_log = logging.getLogger("superconnector.deliveries")
ingest_log = logging.getLogger("superconnector.ingest")

RECORDS_RECEIVED = Counter(
    "superconnector_records_received",
    "Records received by sources (ingest requests, pulls, uploads), counted when their run ends.",
    ["trigger"],
)
RECORDS_ACCEPTED = Counter(
    "superconnector_records_accepted",
    "Received records that satisfied the source schema.",
    ["trigger"],
)
RECORDS_REJECTED = Counter(
    "superconnector_records_rejected",
    "Received records refused by the source schema (kept with their run).",
    ["trigger"],
)
RECORDS_DELIVERED = Counter(
    "superconnector_records_delivered",
    "Records delivered to a destination (written to a mailbox, or acknowledged by an HTTP API).",
    ["kind"],
)
RECORDS_FAILED = Counter(
    "superconnector_records_failed",
    "Records whose delivery ended failed or dead (visible, and replayable).",
    ["kind"],
)
DELIVERY_ATTEMPTS = Counter(
    "superconnector_delivery_attempts",
    "Outbound delivery requests, by the status the delivery moved to (lost: our lease ran out).",
    ["status"],
)
DELIVERY_LATENCY = Histogram(
    "superconnector_delivery_latency_seconds",
    "From the acceptance of the records to their successful delivery to an HTTP destination.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)
ATTEMPT_DURATION = Histogram(
    "superconnector_delivery_attempt_seconds",
    "How long one outbound delivery request took.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
VERIFICATION_FAILURES = Counter(
    "superconnector_ingest_verification_failures",
    "Ingest requests refused (401) because the sender did not prove itself, by connector slug "
    "and kind of failure (missing, malformed, signature, timestamp, token, credentials).",
    ["connector", "reason"],
)


# --- Hooks called where records flow ----------------------------------------------------------


def record_run(run) -> None:
    """A run finished: count its records and log it."""
    transaction.on_commit(partial(_count_run, run))


def record_attempt(delivery, attempt, status: str | None) -> None:
    """One outbound attempt ended; `status` is the delivery's new status, None if our lease was lost."""
    transaction.on_commit(partial(_count_attempt, delivery, attempt, status))


def record_delivered(kind: str, count: int) -> None:
    """Records delivered at once by a destination that needs no outbound request (the mailbox)."""
    transaction.on_commit(partial(RECORDS_DELIVERED.labels(kind).inc, count))


def record_verification_failure(connector: str, reason_class: str, reason: str) -> None:
    """An ingest request failed sender verification (no transaction: nothing was stored)."""
    VERIFICATION_FAILURES.labels(connector, reason_class).inc()
    ingest_log.warning(
        "ingest verification failed connector=%s reason=%r",
        connector,
        reason,
        extra={"event": "verification_failed", "connector": connector, "reason": reason_class},
    )


def _count_run(run) -> None:
    trigger = str(run.trigger)
    RECORDS_RECEIVED.labels(trigger).inc(run.received)
    RECORDS_ACCEPTED.labels(trigger).inc(run.accepted)
    RECORDS_REJECTED.labels(trigger).inc(run.rejected)
    runs_log.info(
        "run=%s source=%s trigger=%s status=%s received=%s accepted=%s rejected=%s%s",
        run.pk,
        run.source_id,
        trigger,
        run.status,
        run.received,
        run.accepted,
        run.rejected,
        f" error={run.error!r}" if run.error else "",
        extra={
            "event": "run",
            "run_id": run.pk,
            "source_id": run.source_id,
            "trigger": trigger,
            "status": str(run.status),
            "received": run.received,
            "accepted": run.accepted,
            "rejected": run.rejected,
            "error": run.error,
        },
    )


def _count_attempt(delivery, attempt, status: str | None) -> None:
    records = delivery.record_count
    ATTEMPT_DURATION.observe((attempt.duration_ms or 0) / 1000)
    DELIVERY_ATTEMPTS.labels(str(status or "lost")).inc()
    if status == "delivered":
        RECORDS_DELIVERED.labels("http_destination").inc(records)
        DELIVERY_LATENCY.observe((timezone.now() - delivery.created_at).total_seconds())
    elif status in ("failed", "dead"):
        RECORDS_FAILED.labels("http_destination").inc(records)
    deliveries_log.info(
        "delivery=%s attempt=%s pipeline=%s destination=%s run=%s status=%s http_status=%s "
        "duration_ms=%s records=%s%s",
        delivery.pk,
        attempt.number,
        delivery.pipeline_id,
        delivery.destination_id,
        delivery.run_id,
        status or "lost",
        attempt.status_code,
        attempt.duration_ms,
        records,
        f" error={attempt.error!r}" if attempt.error else "",
        extra={
            "event": "delivery_attempt",
            "delivery_id": delivery.pk,
            "attempt": attempt.number,
            "pipeline_id": delivery.pipeline_id,
            "destination_id": delivery.destination_id,
            "run_id": delivery.run_id,
            "status": status or "lost",
            "http_status": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "records": records,
            "error": attempt.error,
        },
    )


# --- Measured at scrape time ------------------------------------------------------------------


class QueueCollector:
    """The work waiting, read when Prometheus scrapes: deliveries by the function it is given
    (this module counts what it is handed; it imports nothing above it), tasks from the broker."""

    def __init__(self, deliveries_waiting: Callable[[], dict[str, int]]) -> None:
        self.deliveries_waiting = deliveries_waiting

    def describe(self):
        return []

    def collect(self):
        from django_q.brokers import get_broker

        waiting = self.deliveries_waiting()
        deliveries = GaugeMetricFamily(
            "superconnector_deliveries_waiting",
            "Deliveries not finished yet: pending (due or waiting to retry) and delivering.",
            labels=["status"],
        )
        for status in ("pending", "delivering"):
            deliveries.add_metric([status], waiting[status])
        yield deliveries
        yield GaugeMetricFamily(
            "superconnector_deliveries_due",
            "Deliveries whose time has come and that no worker holds: the backlog of the workers.",
            value=waiting["due"],
        )
        yield GaugeMetricFamily(
            "superconnector_task_queue_depth",
            "Tasks waiting in the django-q2 broker.",
            value=get_broker().queue_size() or 0,
        )


def exposition(deliveries_waiting: Callable[[], dict[str, int]]) -> bytes:
    """The Prometheus text format: every process's counters, then the queue."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    queue = CollectorRegistry(auto_describe=False)
    queue.register(QueueCollector(deliveries_waiting))
    return generate_latest(counters) + generate_latest(queue)
