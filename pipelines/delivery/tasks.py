"""django-q2 entry points of delivering: take ids, call the courier or the sweeper.

They always return normally: our tables record failures where people look for them
(deliveries), and an exception here would only make django-q2 re-run the task blindly.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from pipelines.delivery import courier
from pipelines.delivery.models import Delivery
from pipelines.delivery.replay import sweep

logger = logging.getLogger("pipelines.tasks")


def deliver_many(delivery_ids: list[int]) -> dict[int, str]:
    try:
        return courier.deliver_many(delivery_ids)
    except Exception:
        # Leases are held; when they expire the sweeper hands the deliveries to another worker.
        logger.exception("deliveries=%s attempt crashed", delivery_ids)
        return {}


def sweep_when_a_worker_starts(sender, proc_name: str, **kwargs) -> None:
    """A worker process started (django-q2's post_spawn): sweep now, not at the next minute.

    Deliveries that came due while the workers were down go out at once, and /healthz sees
    a live worker seconds after a start. A sweep with nothing due is one query.
    """
    # In sync mode (tests) every task runs through django-q2's worker function inline, which
    # sends post_spawn as well: a sweep there would start another, without end.
    if not Conf.SYNC:
        async_task("pipelines.delivery.tasks.sweep_deliveries")


def sweep_deliveries() -> int:
    """Every minute: queue the deliveries that are due (retries, expired leases, lost tasks)."""
    try:
        return sweep()
    except Exception:
        logger.exception("delivery sweep failed")
        return 0


# Deleted this many at a time, so a large backlog never holds the write lock for long.
PURGE_BATCH = 5_000


def purge_old_deliveries() -> int:
    """Daily: forget deliveries delivered more than DELIVERY_RETENTION_DAYS ago, with their
    payloads and attempt logs (each record is stored again in its delivery's payload, so
    without this the table grows with every record ever sent). Failed and dead deliveries
    stay until they are replayed: they are what a person still has to act on."""
    before = timezone.now() - timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    old = Delivery.objects.filter(status=Delivery.Status.DELIVERED, delivered_at__lt=before)
    purged = 0
    while batch := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
        Delivery.objects.filter(pk__in=batch).delete()
        purged += len(batch)
    logger.info("purged %s delivered deliveries", purged)
    return purged
