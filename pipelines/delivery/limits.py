"""Per-destination limits on sending: requests in flight (a connector's `max_concurrency`, or
DELIVERY_DEFAULT_CONCURRENCY) and requests per second (`rate_limit_per_second`)."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from django.conf import settings

from connectors.models import Connector
from pipelines.delivery.models import Delivery, DeliveryAttempt

CONCURRENCY_POLL_SECONDS = 0.1


def limit_wait(destination: Connector, now, courier: uuid.UUID | None = None) -> float:
    """Seconds to wait before this destination may get another request (0: now)."""
    held = Delivery.objects.filter(
        destination=destination, status=Delivery.Status.DELIVERING, lease_expires_at__gt=now
    )
    if destination.max_concurrency or settings.DELIVERY_DEFAULT_CONCURRENCY:
        # The lock on the destination's row serialises claims, so two workers cannot both
        # see one free slot (SQLite serialises every write transaction anyway).
        Connector.objects.select_for_update().filter(pk=destination.pk).first()
    if destination.max_concurrency:
        if held.count() >= destination.max_concurrency:
            return CONCURRENCY_POLL_SECONDS
    elif settings.DELIVERY_DEFAULT_CONCURRENCY:
        # Without a limit of its own a courier claims many deliveries at once and sends them one
        # after the other: each other courier holding some is one request in flight.
        others = held.exclude(claimed_by=courier).values("claimed_by").distinct().count()
        if others >= settings.DELIVERY_DEFAULT_CONCURRENCY:
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
