"""django-q2 entry points of delivering: take ids, call the courier or the sweeper.

They always return normally: our tables record failures where people look for them
(deliveries), and an exception here would only make django-q2 re-run the task blindly.
"""

from __future__ import annotations

import logging

from django_q.conf import Conf
from django_q.tasks import async_task

from pipelines.delivery import courier
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
