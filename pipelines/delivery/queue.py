"""Putting deliveries on the task queue: a task per chunk of ids, never one per delivery."""

from __future__ import annotations

import logging

from django_q.tasks import async_task

logger = logging.getLogger("pipelines.delivery")

# A task's payload stays small (ids only) and its database work is shared by this many deliveries.
DELIVERIES_PER_TASK = 100


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Queue deliveries of one destination, DELIVERIES_PER_TASK to a task; what the queue cannot
    take, the sweeper will."""
    for start in range(0, len(delivery_ids), DELIVERIES_PER_TASK):
        chunk = delivery_ids[start : start + DELIVERIES_PER_TASK]
        try:
            async_task("pipelines.delivery.tasks.deliver_many", chunk, group="deliveries")
        except Exception:
            logger.exception("deliveries=%s not queued; the sweeper will queue them", chunk)
