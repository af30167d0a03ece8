"""Delivering to HTTP destinations: claim, send, record, retry; the `Delivery` row is the truth.

django-q2 may run a task twice, or lose it; neither matters here. A worker claims a delivery
with a guarded update that also counts the attempt, so a duplicate task finds nothing to do,
and the sweeper re-enqueues whatever is due and has no task (a retry whose time came, a lease
that expired because its worker died).
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors import http
from connectors.models import Connector
from connectors.outbound import RenderError, render_request
from pipelines.models import Delivery, DeliveryAttempt, Run

logger = logging.getLogger("pipelines.delivery")

# A claim lasts long enough for the slowest legal exchange: connect, read, an OAuth2 token fetch.
LEASE_MARGIN_SECONDS = 5
MAX_BACKOFF_SECONDS = 6 * 3600
MAX_RETRY_AFTER_SECONDS = 3600
# Jitter spreads the retries of many deliveries that failed together.
JITTER = 0.2
# A worker waits this long at most for a rate or concurrency slot, then leaves it to the sweeper.
LIMIT_WAIT_SECONDS = 5.0
CONCURRENCY_POLL_SECONDS = 0.1
# After this long without being claimed, a queued task is presumed lost and queued again.
REQUEUE_AFTER = timedelta(minutes=5)
SWEEP_LIMIT = 5000
EXCERPT_BYTES = 4096
# What an attempt reads: loading every column of the destination costs more than the request.
CLAIM_FIELDS = (
    "status",
    "records",
    "attempts",
    "attempts_before_replay",
    "lease_expires_at",
    "pipeline_id",
    "run_id",
    *(
        f"destination__{name}"
        for name in (
            "enabled",
            "url",
            "method",
            "auth",
            "timeout_seconds",
            "variables",
            "batch_size",
            "body_template",
            "max_attempts",
            "initial_backoff_seconds",
            "signing_secret",
            "previous_signing_secret",
            "rate_limit_per_second",
            "max_concurrency",
            "disable_after_failing_days",
            "failing_since",
        )
    ),
)


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
        )


# --- Claiming ---------------------------------------------------------------------------------


def deliver(delivery_id: int) -> str | None:
    """Attempt one delivery; its new status, or None when there was nothing for us to do."""
    claimed = claim(delivery_id)
    if claimed is None:
        return None
    delivery, attempt = claimed
    destination = delivery.destination
    started = time.monotonic()
    try:
        request = render_request(
            destination, delivery.records, idempotency_key=delivery.idempotency_key
        )
    except RenderError as exc:
        return finish(
            delivery, attempt, Outcome("fail", error=str(exc), about_destination=False), 0
        )
    shown = request.masked()
    attempt.request_method = shown["method"]
    attempt.request_url = shown["url"][:2000]
    attempt.request_headers = shown["headers"]
    try:
        response = request.send(
            timeout=destination.timeout_seconds, cache_key=f"connector-{destination.pk}"
        )
        outcome = Outcome.of_response(response)
    except http.TransportError as exc:
        outcome = Outcome.of_error(exc)
    return finish(delivery, attempt, outcome, (time.monotonic() - started) * 1000)


def claim(delivery_id: int) -> tuple[Delivery, DeliveryAttempt] | None:
    """Take the delivery for one attempt (guarded update + lease), waiting briefly for a slot
    when the destination's rate or concurrency limit is reached."""
    give_up_at = time.monotonic() + LIMIT_WAIT_SECONDS
    while True:
        with transaction.atomic():
            result = _claim_once(delivery_id)
        if not isinstance(result, float):
            return result
        if time.monotonic() + result > give_up_at:
            _defer(delivery_id, result)
            return None
        time.sleep(result)


def _claim_once(delivery_id: int) -> tuple[Delivery, DeliveryAttempt] | float | None:
    now = timezone.now()
    found = list(
        Delivery.objects.select_related("destination")
        .only(*CLAIM_FIELDS)
        .filter(pk=delivery_id)
        .due(now)
    )
    if not found:
        return None
    delivery = found[0]
    destination = delivery.destination
    if not destination.enabled:
        # Disabled (by hand, or for answering 410): the delivery waits. The sweeper skips it
        # while the destination is disabled and queues it at the first sweep after.
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
            next_attempt_at=now
        )
        return None
    expired = delivery.status == Delivery.Status.DELIVERING
    if expired and delivery.round_attempts >= destination.max_attempts:
        _give_up_after_crashes(delivery, now)
        return None
    wait = limit_wait(destination, now)
    if wait:
        return wait
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=delivery.status, attempts=delivery.attempts
    ).update(
        status=Delivery.Status.DELIVERING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + timedelta(seconds=lease_seconds(destination)),
        updated_at=now,
    )
    if not claimed:
        return None  # another worker was faster
    if expired:
        _close_lost_attempt(delivery)
    delivery.status = Delivery.Status.DELIVERING
    delivery.attempts += 1
    attempt = DeliveryAttempt(delivery=delivery, number=delivery.attempts, started_at=now)
    if destination.rate_limit_per_second:
        # Written now, not when it ends, so that attempts in flight count against the rate.
        attempt.save()
    return delivery, attempt


def limit_wait(destination: Connector, now) -> float:
    """Seconds to wait before this destination may get another request (0: now)."""
    if destination.max_concurrency:
        # The lock on the destination's row serialises claims, so two workers cannot both
        # see one free slot (SQLite serialises every write transaction anyway).
        Connector.objects.select_for_update().filter(pk=destination.pk).first()
        in_flight = Delivery.objects.filter(
            destination=destination, status=Delivery.Status.DELIVERING, lease_expires_at__gt=now
        ).count()
        if in_flight >= destination.max_concurrency:
            return CONCURRENCY_POLL_SECONDS
    rate = destination.rate_limit_per_second
    if rate:
        # A sliding window: at most `allowed` attempts began in the last `window` seconds.
        window = max(1.0, 1.0 / rate)
        allowed = max(1, math.floor(rate * window))
        recent = list(
            DeliveryAttempt.objects.filter(
                delivery__destination=destination,
                started_at__gt=now - timedelta(seconds=window),
            )
            .order_by("-started_at")
            .values_list("started_at", flat=True)[:allowed]
        )
        if len(recent) >= allowed:
            return max((recent[-1] + timedelta(seconds=window) - now).total_seconds(), 0.001)
    return 0.0


def _defer(delivery_id: int, seconds: float) -> None:
    later = timezone.now() + timedelta(seconds=seconds)
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        next_attempt_at=later
    )


def _close_lost_attempt(delivery: Delivery) -> None:
    """Log the attempt whose worker died (usually written only when an attempt ends)."""
    error = "The worker stopped during this attempt (its lease expired)."
    lost = delivery.lease_expires_at - timedelta(seconds=lease_seconds(delivery.destination))
    attempt, created = DeliveryAttempt.objects.get_or_create(
        delivery=delivery, number=delivery.attempts, defaults={"started_at": lost, "error": error}
    )
    if not created and attempt.duration_ms is None and not attempt.error:
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(error=error)


def _give_up_after_crashes(delivery: Delivery, now) -> None:
    """A delivery whose worker dies every time must not be retried forever."""
    error = (
        f"The worker stopped during attempt {delivery.attempts} and no attempts are left "
        f"(max_attempts {delivery.destination.max_attempts})."
    )
    dead = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.DELIVERING, attempts=delivery.attempts
    ).update(status=Delivery.Status.DEAD, lease_expires_at=None, last_error=error, updated_at=now)
    if dead:
        _close_lost_attempt(delivery)
        _count(delivery, failed=len(delivery.records))


# --- Recording --------------------------------------------------------------------------------


def finish(
    delivery: Delivery, attempt: DeliveryAttempt, outcome: Outcome, duration_ms: float
) -> str | None:
    """Record the attempt and move the delivery on; None if our lease was lost meanwhile."""
    now = timezone.now()
    destination = delivery.destination
    status, changes = _next_state(delivery, outcome, now)
    with transaction.atomic():
        moved = Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.DELIVERING, attempts=delivery.attempts
        ).update(
            status=status,
            lease_expires_at=None,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            updated_at=now,
            **changes,
        )
        attempt.duration_ms = round(duration_ms)
        attempt.status_code = outcome.status_code
        attempt.error = (
            outcome.error if moved else f"{outcome.error} (lease lost: not counted)".strip()
        )
        attempt.response_excerpt = outcome.excerpt
        attempt.save()
        if not moved:
            # Our lease expired and another worker claimed the delivery: its result counts.
            return None
        if status == Delivery.Status.DELIVERED:
            _count(delivery, delivered=len(delivery.records))
        elif status in (Delivery.Status.FAILED, Delivery.Status.DEAD):
            _count(delivery, failed=len(delivery.records))
        if outcome.about_destination:
            _update_health(destination, outcome, now)
    delivery.status = status
    return status


def _next_state(delivery: Delivery, outcome: Outcome, now) -> tuple[str, dict]:
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


def _count(delivery: Delivery, *, delivered: int = 0, failed: int = 0) -> None:
    if delivery.run_id is not None:
        Run(pk=delivery.run_id).count_delivery(
            delivery.pipeline_id, delivered=delivered, failed=failed
        )


def _update_health(destination: Connector, outcome: Outcome, now) -> None:
    """Track how long a destination has failed; disable it when it is gone or failing too long."""
    if outcome.verdict == "ok":
        if destination.failing_since is not None:
            Connector.objects.filter(pk=destination.pk).update(failing_since=None)
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
    elif now - since >= timedelta(days=destination.disable_after_failing_days):
        disable(
            destination,
            f"Every request failed since {since:%Y-%m-%d %H:%M} UTC "
            f"(more than {destination.disable_after_failing_days} days); last: {outcome.error}",
        )


def disable(destination: Connector, reason: str) -> None:
    """Stop sending to a destination; its deliveries wait (nothing is dropped) until it is enabled."""
    Connector.objects.filter(pk=destination.pk).update(enabled=False, disabled_reason=reason[:500])
    logger.warning("destination %s disabled: %s", destination.pk, reason)


# --- Replay and sweeping ----------------------------------------------------------------------


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
        records = len(delivery.records)
        if delivery.status == Delivery.Status.DELIVERED:
            _count(delivery, delivered=-records)
        else:
            _count(delivery, failed=-records)
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _enqueue(delivery_id))
    delivery.refresh_from_db()
    return True


def sweep(now=None) -> int:
    """Queue a task for each due delivery that has none; the number queued."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.to_sweep(now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if ids:
        Delivery.objects.filter(pk__in=ids).update(queued_at=now)
        for delivery_id in ids:
            _enqueue(delivery_id)
    return len(ids)


def _enqueue(delivery_id: int) -> None:
    from pipelines.tasks import enqueue_delivery

    enqueue_delivery(delivery_id)
