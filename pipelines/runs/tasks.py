"""django-q2 entry point of run retention."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from pipelines.runs.models import IdempotencyKey, RecordError, Run

logger = logging.getLogger("pipelines.tasks")

# Runs deleted to a transaction: about 0.3 s of SQLite's write lock each.
PURGE_BATCH = 1_000


def purge_old_runs() -> dict[str, int]:
    """Daily: forget runs and record errors past RUN_RETENTION_DAYS, idempotency keys past
    IDEMPOTENCY_KEY_HOURS. Deliveries stay (their run link is cleared)."""
    now = timezone.now()
    runs_before = now - timedelta(days=settings.RUN_RETENTION_DAYS)
    keys_before = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    old_runs = Run.objects.filter(started_at__lt=runs_before).exclude(status=Run.Status.RUNNING)
    purged = {
        "record_errors": RecordError.objects.filter(created_at__lt=runs_before).delete()[0],
        "runs": 0,
        "idempotency_keys": IdempotencyKey.objects.filter(created_at__lt=keys_before).delete()[0],
    }
    # In batches, each its own transaction: a day of webhooks is millions of runs, and one
    # delete of them all loaded every one and held SQLite's write lock throughout (7 s for
    # 20,000), stalling every ingest request behind it.
    while batch := list(old_runs.values_list("pk", flat=True)[:PURGE_BATCH]):
        purged["runs"] += Run.objects.filter(pk__in=batch).delete()[1].get("pipelines.Run", 0)
    logger.info("purged %s", purged)
    refresh_planner_statistics()
    return purged


def refresh_planner_statistics() -> None:
    """SQLite: analyse the tables this connection used if they never were, or have grown 25
    times since (`PRAGMA optimize`). Without statistics SQLite's planner guesses that any
    `source_id = ?` picks few rows: the runs page by minute of one source read every run of
    it (5 s at a million) instead of the hour shown on the started_at index (0.3 s).
    PostgreSQL's autovacuum keeps its own statistics."""
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # It writes them: in a transaction, so it queues on the write lock like every writer.
        cursor.execute("PRAGMA optimize")
