"""django-q2 entry points: take an id, reload, call a model method, and always return normally.

Our tables record failures where people look for them (deliveries, runs); an exception here
would only make django-q2 re-run the task blindly.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from connectors.models import Connector
from pipelines.models import IdempotencyKey, RecordError, Run

logger = logging.getLogger("pipelines.tasks")

# A task's payload stays small (ids only) and its database work is shared by this many deliveries.
DELIVERIES_PER_TASK = 100


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Queue deliveries of one destination, DELIVERIES_PER_TASK to a task; what the queue cannot
    take, the sweeper will."""
    for start in range(0, len(delivery_ids), DELIVERIES_PER_TASK):
        chunk = delivery_ids[start : start + DELIVERIES_PER_TASK]
        try:
            async_task("pipelines.tasks.deliver_many", chunk, group="deliveries")
        except Exception:
            logger.exception("deliveries=%s not queued; the sweeper will queue them", chunk)


def deliver_many(delivery_ids: list[int]) -> dict[int, str]:
    from pipelines.courier import deliver_many

    try:
        return deliver_many(delivery_ids)
    except Exception:
        # Leases are held; when they expire the sweeper hands the deliveries to another worker.
        logger.exception("deliveries=%s attempt crashed", delivery_ids)
        return {}


def deliver(delivery_id: int) -> str | None:
    """One delivery (replays, tests, tasks queued before deliveries went in batches)."""
    return deliver_many([delivery_id]).get(delivery_id)


def sweep_when_a_worker_starts(sender, proc_name: str, **kwargs) -> None:
    """A worker process started (django-q2's post_spawn): sweep now, not at the next minute.

    Deliveries that came due while the workers were down go out at once, and /healthz sees
    a live worker seconds after a start. A sweep with nothing due is one query.
    """
    # In sync mode (tests) every task runs through django-q2's worker function inline, which
    # sends post_spawn as well: a sweep there would start another, without end.
    if not Conf.SYNC:
        async_task("pipelines.tasks.sweep_deliveries")


def sweep_deliveries() -> int:
    """Every minute: queue the deliveries that are due (retries, expired leases, lost tasks)."""
    from pipelines.delivery import sweep

    try:
        return sweep()
    except Exception:
        logger.exception("delivery sweep failed")
        return 0


def purge_old_runs() -> dict[str, int]:
    """Daily: forget runs and record errors past RUN_RETENTION_DAYS, idempotency keys past
    IDEMPOTENCY_KEY_HOURS. Deliveries stay (their run link is cleared)."""
    now = timezone.now()
    runs_before = now - timedelta(days=settings.RUN_RETENTION_DAYS)
    keys_before = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    old_runs = Run.objects.filter(started_at__lt=runs_before).exclude(status=Run.Status.RUNNING)
    purged = {
        "record_errors": RecordError.objects.filter(created_at__lt=runs_before).delete()[0],
        "runs": old_runs.delete()[1].get("pipelines.Run", 0),
        "idempotency_keys": IdempotencyKey.objects.filter(created_at__lt=keys_before).delete()[0],
    }
    logger.info("purged %s", purged)
    return purged


def pull_source(
    connector_id: int, trigger: str = Run.Trigger.SCHEDULE, run_id: int | None = None
) -> None:
    from pipelines.pulling import pull

    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return
    run = Run.objects.filter(pk=run_id).first() if run_id else None
    try:
        pull(connector, trigger, run)
    except Exception:
        logger.exception("source=%s pull crashed", connector_id)


def sample_source(connector_id: int, pages: int = 3) -> dict | None:
    from pipelines.pulling import read_sample

    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return None
    try:
        return read_sample(connector, pages)
    except Exception:
        logger.exception("source=%s sample crashed", connector_id)
        return {
            "ok": False,
            "error": "The test read failed inside the worker.",
            "requests": [],
            "records": [],
        }
