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
            # save=False: django-q2 would store each task's result and, to keep only the last
            # save_limit, read (and unpickle) every stored result again per task. The outcome of
            # each delivery is in our tables; the sweeper's saved tasks keep /healthz's heartbeat.
            async_task(
                "pipelines.delivery.tasks.deliver_many", chunk, group="deliveries", save=False
            )
        except Exception:
            logger.exception("deliveries=%s not queued; the sweeper will queue them", chunk)
