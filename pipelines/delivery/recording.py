"""Writing what a courier's requests came to, in groups: the attempts in one INSERT, one UPDATE
per distinct result (every delivery answered 200 moves at once; a retry, with its own next
attempt time, moves alone), one increment per run and pipeline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connectors.models import Connector
from osmosproject.metrics import record_attempt
from pipelines.delivery.models import INSERT_ATTEMPTS, Delivery, DeliveryAttempt
from pipelines.delivery.outcomes import Outcome, next_state, update_health
from pipelines.runs.models import Run


@dataclass
class Sent:
    """A delivery sent (or refused before sending) whose outcome is not written yet."""

    delivery: Delivery
    attempt: DeliveryAttempt
    outcome: Outcome


def write_outcomes(destination: Connector, token, sent: list[Sent]) -> dict[int, str]:
    """Record `sent` (deliveries claimed with `token`) in one transaction; the new status of
    each delivery that was still ours."""
    statuses: dict[int, str] = {}
    now = timezone.now()
    with transaction.atomic():
        # A delivery whose lease expired and that another worker claimed is no longer ours:
        # its attempt is logged, but the other worker's result is the one that counts.
        mine = set(
            Delivery.objects.select_for_update()
            .filter(
                pk__in=[s.delivery.pk for s in sent],
                status=Delivery.Status.DELIVERING,
                claimed_by=token,
            )
            .values_list("pk", flat=True)
        )
        moves: dict[tuple, list[int]] = defaultdict(list)
        counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for s in sent:
            if s.delivery.pk not in mine:
                s.attempt.error = f"{s.outcome.error} (lease lost: not counted)".strip()
                continue
            status, changes = next_state(s.delivery, s.outcome, now)
            key = (status, s.outcome.status_code, s.outcome.error, *sorted(changes.items()))
            moves[key].append(s.delivery.pk)
            statuses[s.delivery.pk] = status
            if s.delivery.run_id is not None and status in Delivery.FINAL:
                column = 0 if status == Delivery.Status.DELIVERED else 1
                counts[(s.delivery.run_id, s.delivery.pipeline_id)][column] += (
                    s.delivery.record_count
                )
        for (status, status_code, error, *changes), ids in moves.items():
            Delivery.objects.filter(pk__in=ids).update(
                status=status,
                lease_expires_at=None,
                last_status_code=status_code,
                last_error=error,
                updated_at=now,
                **dict(changes),
            )
        # Under a rate limit the attempt was written at the claim; the others are new.
        written = [s.attempt for s in sent if s.attempt.pk is not None]
        INSERT_ATTEMPTS.many([s.attempt for s in sent if s.attempt.pk is None])
        for attempt in written:
            attempt.save()
        for s in sent:
            record_attempt(s.delivery, s.attempt, statuses.get(s.delivery.pk))
        for (run_id, pipeline_id), (delivered, failed) in counts.items():
            Run(pk=run_id).count_delivery(pipeline_id, delivered=delivered, failed=failed)
        for s in sent:
            if s.delivery.pk in mine and s.outcome.about_destination:
                update_health(destination, s.outcome, now)
    return statuses
