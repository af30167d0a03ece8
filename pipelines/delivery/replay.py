"""Sending finished deliveries again, and the sweeper that queues due deliveries no task covers."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pipelines.delivery.models import Delivery
from pipelines.delivery.outcomes import count_outcome
from pipelines.delivery.queue import enqueue_deliveries

SWEEP_LIMIT = 5000


def replay(delivery: Delivery) -> bool:
    """Send again with the same idempotency key and a fresh round of attempts."""
    if delivery.status not in Delivery.FINAL:
        return False
    now = timezone.now()
    with transaction.atomic():
        reset = Delivery.objects.filter(pk=delivery.pk, status=delivery.status).update(
            status=Delivery.Status.PENDING,
            attempts_before_replay=F("attempts"),
            next_attempt_at=now,
            queued_at=now,
            lease_expires_at=None,
            updated_at=now,
        )
        if not reset:
            return False
        # The run's counts follow the delivery: it is no longer failed (or delivered) until it ends again.
        records = delivery.record_count
        if delivery.status == Delivery.Status.DELIVERED:
            count_outcome(delivery, delivered=-records)
        else:
            count_outcome(delivery, failed=-records)
        delivery_id = delivery.pk
        transaction.on_commit(lambda: enqueue_deliveries([delivery_id]))
    delivery.refresh_from_db()
    return True


def replay_all(deliveries) -> int:
    """Replay each delivery of a queryset; the number that were sent again."""
    return sum(replay(delivery) for delivery in deliveries.select_related("run"))


def sweep(now=None) -> int:
    """Queue tasks for the due deliveries that have none; the number of deliveries queued."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.to_sweep(now)
        .order_by("next_attempt_at")
        .values_list("pk", "destination_id")[:SWEEP_LIMIT]
    )
    if due:
        Delivery.objects.filter(pk__in=[pk for pk, _ in due]).update(queued_at=now)
        by_destination: dict[int, list[int]] = defaultdict(list)
        for pk, destination_id in due:
            by_destination[destination_id].append(pk)
        for ids in by_destination.values():
            enqueue_deliveries(ids)
    return len(due)
