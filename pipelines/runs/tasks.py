"""django-q2 entry point of run retention."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from pipelines.runs.models import IdempotencyKey, RecordError, Run

logger = logging.getLogger("pipelines.tasks")


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
