"""Sending finished deliveries again, and the sweeper that queues due deliveries no task covers."""

from __future__ import annotations

from itertools import zip_longest

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from connectors import audit
from pipelines.delivery.models import Delivery
from pipelines.delivery.outcomes import count_outcome
from pipelines.delivery.queue import DELIVERIES_PER_TASK, enqueue_deliveries

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
        audit.record(
            "replay",
            "delivery",
            delivery.pk,
            f"delivery #{delivery.pk}",
            status=(delivery.status, Delivery.Status.PENDING),
        )
    delivery.refresh_from_db()
    return True


def replay_all(deliveries) -> int:
    """Replay each delivery of a queryset; the number that were sent again."""
    return sum(replay(delivery) for delivery in deliveries.select_related("run"))


def sweep(now=None) -> int:
    """Queue tasks for the due deliveries that have none; the number of deliveries queued.

    Destinations take turns: each gets an equal share of SWEEP_LIMIT (its longest-waiting
    deliveries first), and the tasks are queued round-robin (a task of each destination, then
    a second of each, ...), so a destination with a large backlog neither crowds the others out
    of a sweep nor queues all its tasks ahead of theirs."""
    now = now or timezone.now()
    due = Delivery.objects.to_sweep(now)
    # One row per destination (the annotation groups by it), longest-waiting first.
    destinations = [
        row["destination_id"]
        for row in due.values("destination_id")
        .annotate(oldest=Min("next_attempt_at"))
        .order_by("oldest")
    ]
    if not destinations:
        return 0
    share = max(DELIVERIES_PER_TASK, SWEEP_LIMIT // len(destinations))
    tasks_by_destination = []
    for destination_id in destinations[: SWEEP_LIMIT // DELIVERIES_PER_TASK]:
        ids = list(
            due.filter(destination_id=destination_id)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:share]
        )
        tasks_by_destination.append(
            [ids[i : i + DELIVERIES_PER_TASK] for i in range(0, len(ids), DELIVERIES_PER_TASK)]
        )
    tasks = [task for turn in zip_longest(*tasks_by_destination) for task in turn if task]
    queued = [pk for task in tasks for pk in task]
    Delivery.objects.filter(pk__in=queued).update(queued_at=now)
    for task in tasks:
        enqueue_deliveries(task)
    return len(queued)
