"""What one delivery attempt's outcome leads to: delivered, retry with backoff, or dead; and
the destination's health.

The `Delivery` row is the truth. django-q2 may run a task twice, or lose it; neither matters
here. A task carries the ids of up to 100 deliveries of one destination
(`queue.DELIVERIES_PER_TASK`); `courier.py` claims them with a guarded update that also counts
the attempt, so a duplicate task finds nothing to do, and the sweeper re-enqueues
whatever is due and has no task (a retry whose time came, a lease that expired because its
worker died).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from connectors import http
from connectors.models import Connector
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.runs.models import Run

logger = logging.getLogger("pipelines.delivery")

# A claim outlives any attempt: `http.send` ends every attempt (an OAuth2 token fetch included)
# within timeout_seconds of wall time, and the courier renews the lease of the deliveries it
# holds before each request (at least every FLUSH_SECONDS), so a lease runs out only when its
# worker is gone; never while the worker still waits for an answer, which would let a second
# worker send the same delivery at the same time. The rest is room for slow database writes.
LEASE_MARGIN_SECONDS = 5
MAX_BACKOFF_SECONDS = 6 * 3600
MAX_RETRY_AFTER_SECONDS = 3600
# Jitter spreads the retries of many deliveries that failed together.
JITTER = 0.2
EXCERPT_BYTES = 4096


def lease_seconds(destination: Connector) -> int:
    return 3 * destination.timeout_seconds + LEASE_MARGIN_SECONDS


def backoff_seconds(initial: float, attempt: int) -> float:
    """About `initial`, then twice the last wait each time, within +/- 20%."""
    base = min(initial * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
    return base * random.uniform(1 - JITTER, 1 + JITTER)


@dataclass
class Outcome:
    """What one attempt came to: "ok", "retry", "fail", or "gone" (410: disable the destination)."""

    verdict: str
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    retry_after: float | None = None
    # False when the request never reached the destination by its fault (our data, our template).
    about_destination: bool = True
    # The destination did not answer within timeout_seconds.
    timed_out: bool = False

    @classmethod
    def of_response(cls, response: http.Response) -> Outcome:
        verdict = "gone" if response.status == 410 else http.classify(response)
        error = ""
        if verdict != "ok":
            error = f"HTTP {response.status}"
            if 300 <= response.status < 400:
                error += " (a redirect: redirects are not followed; use the final URL)"
        return cls(
            verdict=verdict,
            status_code=response.status,
            error=error,
            excerpt=response.excerpt(EXCERPT_BYTES),
            retry_after=response.retry_after_seconds(MAX_RETRY_AFTER_SECONDS),
        )

    @classmethod
    def of_error(cls, exc: http.TransportError) -> Outcome:
        return cls(
            verdict="retry" if exc.retryable else "fail",
            status_code=exc.status,
            error=exc.message,
            retry_after=exc.retry_after,
            timed_out=isinstance(exc, http.DeadlineExceeded),
        )


def close_lost_attempt(delivery: Delivery) -> None:
    """Log the attempt whose worker died (usually written only when an attempt ends)."""
    error = "The worker stopped during this attempt (its lease expired)."
    lost = delivery.lease_expires_at - timedelta(seconds=lease_seconds(delivery.destination))
    attempt, created = DeliveryAttempt.objects.get_or_create(
        delivery=delivery, number=delivery.attempts, defaults={"started_at": lost, "error": error}
    )
    if not created and attempt.duration_ms is None and not attempt.error:
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(error=error)


def give_up_after_crashes(delivery: Delivery, now) -> None:
    """A delivery whose worker dies every time must not be retried forever."""
    error = (
        f"The worker stopped during attempt {delivery.attempts} and no attempts are left "
        f"(max_attempts {delivery.destination.max_attempts})."
    )
    dead = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.DELIVERING, attempts=delivery.attempts
    ).update(status=Delivery.Status.DEAD, lease_expires_at=None, last_error=error, updated_at=now)
    if dead:
        close_lost_attempt(delivery)
        count_outcome(delivery, failed=delivery.record_count)


# --- Recording --------------------------------------------------------------------------------


def next_state(delivery: Delivery, outcome: Outcome, now) -> tuple[str, dict]:
    destination = delivery.destination
    if outcome.verdict == "ok":
        return Delivery.Status.DELIVERED, {"delivered_at": now}
    if outcome.verdict == "fail":
        return Delivery.Status.FAILED, {}
    if delivery.round_attempts >= destination.max_attempts:
        return Delivery.Status.DEAD, {}
    if outcome.verdict == "gone":
        # It waits with the destination's other deliveries until someone enables it again.
        return Delivery.Status.PENDING, {"next_attempt_at": now}
    wait = backoff_seconds(destination.initial_backoff_seconds, delivery.round_attempts)
    if outcome.retry_after is not None:
        wait = max(wait, min(outcome.retry_after, MAX_RETRY_AFTER_SECONDS))
    return Delivery.Status.PENDING, {"next_attempt_at": now + timedelta(seconds=wait)}


def count_outcome(delivery: Delivery, *, delivered: int = 0, failed: int = 0) -> None:
    if delivery.run_id is not None:
        Run(pk=delivery.run_id).count_delivery(
            delivery.pipeline_id, delivered=delivered, failed=failed
        )


def update_health(destination: Connector, outcome: Outcome, now) -> None:
    """Track how long a destination has failed; disable it when it is gone or failing too long.

    `destination` is the courier's copy, kept in step, so a run of alike outcomes writes once."""
    if outcome.verdict == "ok":
        if destination.failing_since is not None:
            Connector.objects.filter(pk=destination.pk).update(failing_since=None)
            destination.failing_since = None
        return
    if outcome.verdict == "gone":
        disable(
            destination,
            f"It answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC: the endpoint no longer exists.",
        )
        return
    since = destination.failing_since
    if since is None:
        Connector.objects.filter(pk=destination.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        destination.failing_since = now
    elif destination.enabled and now - since >= timedelta(
        days=destination.disable_after_failing_days
    ):
        disable(
            destination,
            f"Every request failed since {since:%Y-%m-%d %H:%M} UTC "
            f"(more than {destination.disable_after_failing_days} days); last: {outcome.error}",
        )


def disable(destination: Connector, reason: str) -> None:
    """Stop sending to a destination; its deliveries wait (nothing is dropped) until it is enabled."""
    Connector.objects.filter(pk=destination.pk).update(enabled=False, disabled_reason=reason[:500])
    destination.enabled = False
    logger.warning("destination %s disabled: %s", destination.pk, reason)
