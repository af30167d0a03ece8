"""Claiming and sending one task's deliveries: `deliver_many` and the `Courier` it runs per
destination.

What to do with an outcome (retry, backoff, dead, destination health) is in `outcomes.py`,
writing outcomes in `recording.py`, replays and the sweeper in `replay.py`; this module is the
worker's hot path that shares database work between the deliveries of a task.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from connectors import http
from connectors.jsontext import without_nul
from connectors.kinds import get_kind
from connectors.models import Connector
from connectors.outbound import RenderError, render_request
from connectors.redaction import Redactor
from pipelines.delivery.limits import limit_wait
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.delivery.outcomes import (
    Outcome,
    close_lost_attempt,
    give_up_after_crashes,
    lease_seconds,
)
from pipelines.delivery.queue import DELIVERIES_PER_TASK, enqueue_deliveries
from pipelines.delivery.recording import Sent, write_outcomes

# One logger for all of delivering, whichever module writes.
logger = logging.getLogger("pipelines.delivery")

# Claimed with one UPDATE and recorded together; also what a killed worker leaves to lease expiry.
CLAIM_SIZE = 50
# A claim loads its deliveries' payloads at once: at most this many records (one delivery at
# least), so a worker holds a few big batches of a run in memory, never the whole run.
CLAIM_RECORDS = 2000
# Outcomes are written at least this often, so statuses show promptly and leases stay fresh.
FLUSH_SECONDS = 1.0
# No request starts after this long: the last one may take a whole lease, and django-q2 kills a
# task that outlives its timeout (300 s). The rest go to a new task.
TASK_SECONDS = 120.0
# What a claim needs to know of a due delivery, and what sending it needs (not the whole row).
DUE_FIELDS = (
    "destination_id",
    "status",
    "attempts",
    "attempts_before_replay",
    "lease_expires_at",
    "record_count",
)
CLAIMED_FIELDS = (
    "idempotency_key",
    "record_count",
    "attempts",
    "attempts_before_replay",
    "pipeline_id",
    "run_id",
    "created_at",
)
# Loading every column of the destination costs more than a request.
DESTINATION_FIELDS = (
    *get_kind(Connector.Kind.HTTP_DESTINATION).fields,
    "kind",  # which secrets redaction looks for
    "enabled",
    "previous_signing_secret",
    "failing_since",
)
# A task goes on with its destination's deliveries waiting for tasks of their own while its
# requests take less than this on average (see `Courier._worth_taking_along`).
TAKE_ALONG_BELOW_SECONDS = 0.02
# A worker waits this long at most for a rate or concurrency slot, then leaves it to the sweeper.
LIMIT_WAIT_SECONDS = 5.0


def deliver(delivery_id: int) -> str | None:
    """Attempt one delivery; its new status, or None when there was nothing for us to do."""
    return deliver_many([delivery_id]).get(delivery_id)


def deliver_many(delivery_ids: list[int]) -> dict[int, str]:
    """Attempt the due deliveries among `delivery_ids` (a task's worth, of one destination); the
    status each one we attempted ended in. Deliveries that are not due, or that another worker
    holds, are skipped: a duplicate task sends nothing twice."""
    now = timezone.now()
    found = list(
        Delivery.objects.filter(pk__in=delivery_ids).due(now).only(*DUE_FIELDS).order_by("pk")
    )
    by_destination: dict[int, list[Delivery]] = defaultdict(list)
    for delivery in found:
        by_destination[delivery.destination_id].append(delivery)
    statuses: dict[int, str] = {}
    for destination_id, deliveries in by_destination.items():
        destination = (
            Connector.objects.only(*DESTINATION_FIELDS)
            .prefetch_related("headers")
            .filter(pk=destination_id)
            .first()
        )
        if destination is not None:
            statuses.update(Courier(destination).deliver(deliveries, now))
    return statuses


class Courier:
    """Sends one task's deliveries to one destination, sharing the database work between them.

    A claim takes up to CLAIM_SIZE deliveries (CLAIM_RECORDS records) with one guarded UPDATE (status, attempt counted,
    lease, and a token that tells this courier which rows it won). Outcomes are written in
    groups: the attempts in one INSERT, one UPDATE per distinct result (every delivery answered
    200 moves at once; a retry, with its own next attempt time, moves alone), one increment per
    run and pipeline. They are written every CLAIM_SIZE deliveries and at least every
    FLUSH_SECONDS, which also renews the lease of the claimed deliveries not sent yet.
    """

    def __init__(self, destination: Connector) -> None:
        self.destination = destination
        self.token = uuid.uuid4()
        self.lease = timedelta(seconds=lease_seconds(destination))
        # Limits count requests as they start; claiming ahead would count requests not sent yet.
        limited = destination.rate_limit_per_second or destination.max_concurrency
        self.claim_size = 1 if limited else CLAIM_SIZE
        self.started = time.monotonic()
        self.flushed = self.started
        self.sent: list[Sent] = []
        self.statuses: dict[int, str] = {}
        self.redactor = Redactor.for_connector(destination)
        self.slow = False  # an attempt ran into its timeout
        # Deliveries handled, requests sent and the time they took: see `_worth_taking_along`.
        self.taken = self.requests = 0
        self.request_seconds = 0.0

    def deliver(self, due: list[Delivery], now) -> dict[int, str]:
        if not self.destination.enabled:
            # Disabled (by hand, or for answering 410): its deliveries wait. The sweeper skips them
            # while the destination is disabled and queues them at the first sweep after.
            self._wait_for_enabling([d.pk for d in due], now)
            return {}
        self._deliver_due(due, now)
        while self._worth_taking_along():
            waiting = self._waiting()
            if not waiting:
                break
            self._deliver_due(waiting, timezone.now())
        return self.statuses

    def _deliver_due(self, due: list[Delivery], now) -> None:
        self.taken += len(due)
        claimable = []
        for delivery in due:
            delivery.destination = self.destination
            expired = delivery.status == Delivery.Status.DELIVERING
            if expired and delivery.round_attempts >= self.destination.max_attempts:
                give_up_after_crashes(delivery, now)
            else:
                claimable.append(delivery)
        for start, end in self._chunks(claimable):
            if self.slow:
                break  # its due deliveries are paused: see `_pause`
            rest = [d.pk for d in claimable[start:]]
            if not self.destination.enabled or self._out_of_time():
                self._leave(rest)
                break
            claimed = self._claim(claimable[start:end])
            if isinstance(claimed, float):
                _defer(rest, claimed)  # no slot came free in time: the sweeper queues them later
                break
            self._send_all(claimed)

    # --- Taking waiting deliveries along ---

    def _worth_taking_along(self) -> bool:
        """Whether to go on with the destination's deliveries waiting for tasks of their own.

        A sender posting one request at a time makes a delivery, and so a task, per request;
        the fixed cost of a task (loading the destination, claiming, writing the outcomes: a
        dozen queries, some 10 to 20 ms) then outweighs its request when the destination answers
        fast. Taken along, the waiting deliveries share it, and their own tasks find nothing
        due. A slow destination is better served by the workers in parallel, each with its own
        task; a limited one is sent a claim of one at a time, and leaves the rest to the sweeper.
        """
        return (
            self.claim_size > 1
            and not self.slow
            and self.destination.enabled
            and not self._out_of_time()
            and self.taken < DELIVERIES_PER_TASK
            and 0 < self.request_seconds < TAKE_ALONG_BELOW_SECONDS * self.requests
        )

    def _waiting(self) -> list[Delivery]:
        """This destination's other due deliveries, oldest first, up to a task's worth in all."""
        return list(
            Delivery.objects.filter(
                destination=self.destination,
                status=Delivery.Status.PENDING,
                next_attempt_at__lte=timezone.now(),
            )
            .only(*DUE_FIELDS)
            .order_by("next_attempt_at")[: DELIVERIES_PER_TASK - self.taken]
        )

    # --- Claiming ---

    def _chunks(self, deliveries: list[Delivery]):
        """(start, end) of each claim in `deliveries`: at most claim_size deliveries and
        CLAIM_RECORDS records, one delivery at least."""
        start = 0
        while start < len(deliveries):
            end, records = start + 1, deliveries[start].record_count
            while (
                end < len(deliveries)
                and end - start < self.claim_size
                and records + deliveries[end].record_count <= CLAIM_RECORDS
            ):
                records += deliveries[end].record_count
                end += 1
            yield start, end
            start = end

    def _claim(self, chunk: list[Delivery]) -> list[tuple[Delivery, DeliveryAttempt]] | float:
        """Take the chunk's deliveries that are still due, waiting briefly for a slot when the
        destination's rate or concurrency limit is reached; the wait left when none came in time."""
        give_up_at = time.monotonic() + LIMIT_WAIT_SECONDS
        while True:
            with transaction.atomic():
                result = self._claim_once(chunk)
            if not isinstance(result, float) or time.monotonic() + result > give_up_at:
                return result
            time.sleep(result)

    def _claim_once(self, chunk: list[Delivery]) -> list[tuple[Delivery, DeliveryAttempt]] | float:
        now = timezone.now()
        wait = limit_wait(self.destination, now, self.token)
        if wait:
            return wait
        expired = {d.pk: d for d in chunk if d.status == Delivery.Status.DELIVERING}
        # Only what we saw due: a lease that expired since then is another sweep's to judge.
        Delivery.objects.filter(pk__in=[d.pk for d in chunk]).due(now).filter(
            models.Q(status=Delivery.Status.PENDING) | models.Q(pk__in=list(expired))
        ).update(
            status=Delivery.Status.DELIVERING,
            attempts=F("attempts") + 1,
            lease_expires_at=now + self.lease,
            claimed_by=self.token,
            updated_at=now,
        )
        claimed = []
        for delivery in (
            Delivery.objects.filter(pk__in=[d.pk for d in chunk], claimed_by=self.token)
            .only(*CLAIMED_FIELDS)
            .annotate(payload_body=F("payload__body"))
            .order_by("pk")
        ):
            delivery.use_payload(delivery.payload_body)
            delivery.destination = self.destination
            if delivery.pk in expired:
                close_lost_attempt(expired[delivery.pk])
            attempt = DeliveryAttempt(delivery=delivery, number=delivery.attempts, started_at=now)
            if self.destination.rate_limit_per_second:
                # Written now, not when it ends, so that attempts in flight count against the rate.
                attempt.save()
            claimed.append((delivery, attempt))
        return claimed

    def _renew(self, unsent: list[tuple[Delivery, DeliveryAttempt]]) -> list:
        """Extend the lease of the claimed deliveries not sent yet; those still ours."""
        if not unsent:
            return unsent
        now = timezone.now()
        ids = [delivery.pk for delivery, _ in unsent]
        mine = Delivery.objects.filter(
            pk__in=ids, status=Delivery.Status.DELIVERING, claimed_by=self.token
        )
        if mine.update(lease_expires_at=now + self.lease, updated_at=now) == len(ids):
            return unsent
        kept = set(mine.values_list("pk", flat=True))
        return [pair for pair in unsent if pair[0].pk in kept]

    def _release(self, unsent: list[tuple[Delivery, DeliveryAttempt]]) -> list[int]:
        """Hand back claimed deliveries that were never sent: their attempt did not happen."""
        ids = [delivery.pk for delivery, _ in unsent]
        if ids:
            now = timezone.now()
            Delivery.objects.filter(
                pk__in=ids, status=Delivery.Status.DELIVERING, claimed_by=self.token
            ).update(
                status=Delivery.Status.PENDING,
                attempts=F("attempts") - 1,
                lease_expires_at=None,
                next_attempt_at=now,
                updated_at=now,
            )
            DeliveryAttempt.objects.filter(
                pk__in=[attempt.pk for _, attempt in unsent if attempt.pk]
            ).delete()
        return ids

    def _pause(self, unsent: list[tuple[Delivery, DeliveryAttempt]]) -> None:
        """The destination let an attempt run into its timeout: stop sending to it for a while.

        Each further attempt would likely hold this worker for a whole timeout while other
        destinations' tasks wait. So the unsent deliveries are handed back, and the
        destination's due deliveries (those of tasks still queued too) wait
        DELIVERY_SLOW_PAUSE_SECONDS, after which the sweeper queues them again."""
        self.slow = True
        self._release(unsent)
        later = timezone.now() + timedelta(seconds=settings.DELIVERY_SLOW_PAUSE_SECONDS)
        Delivery.objects.filter(
            destination=self.destination,
            status=Delivery.Status.PENDING,
            next_attempt_at__lt=later,
        ).update(next_attempt_at=later)

    def _wait_for_enabling(self, ids: list[int], now) -> None:
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
            next_attempt_at=now
        )

    def _leave(self, ids: list[int]) -> None:
        """Hand unsent deliveries to a new task (out of time), or let them wait for the
        destination to be enabled again (it was disabled meanwhile)."""
        if not ids:
            return
        if self.destination.enabled:
            Delivery.objects.filter(pk__in=ids).update(queued_at=timezone.now())
            enqueue_deliveries(ids)
        else:
            self._wait_for_enabling(ids, timezone.now())

    def _out_of_time(self) -> bool:
        # The last request may take a whole lease; django-q2 kills tasks that outlive its timeout.
        return time.monotonic() - self.started > TASK_SECONDS

    # --- Sending ---

    def _send_all(self, claimed: list[tuple[Delivery, DeliveryAttempt]]) -> None:
        unsent = claimed
        while unsent:
            if time.monotonic() - self.flushed >= FLUSH_SECONDS:
                self._flush()
                unsent = self._renew(unsent)
            if not unsent:
                break
            if not self.destination.enabled or self._out_of_time():
                self._leave(self._release(unsent))
                break
            (delivery, attempt), unsent = unsent[0], unsent[1:]
            outcome = self._send(delivery, attempt)
            self.sent.append(Sent(delivery, attempt, outcome))
            if outcome.verdict == "gone":
                self._flush()  # disables the destination: nothing more goes out
            if outcome.timed_out:
                self._flush()
                self._pause(unsent)
                break
        self._flush()

    def _send(self, delivery: Delivery, attempt: DeliveryAttempt) -> Outcome:
        destination = self.destination
        started = time.monotonic()
        try:
            request = render_request(
                destination,
                None if delivery.payload_text is not None else delivery.records,
                encoded=delivery.payload_text,
                record_count=delivery.record_count,
                idempotency_key=str(delivery.idempotency_key),
            )
            shown = request.masked()
            attempt.request_method = shown["method"]
            attempt.request_url = without_nul(shown["url"][:2000])
            attempt.request_headers = shown["headers"]
            response = request.send(
                timeout=destination.timeout_seconds, cache_key=f"connector-{destination.pk}"
            )
            outcome = Outcome.of_response(response)
        except RenderError as exc:
            outcome = Outcome("fail", error=str(exc), about_destination=False)
        except http.TransportError as exc:
            outcome = Outcome.of_error(exc)
        except Exception as exc:
            # A bug of ours on one delivery must not cost the rest of the batch their attempts:
            # this one retries with backoff, and is dead after max_attempts like any other.
            logger.exception("delivery=%s attempt crashed", delivery.pk)
            outcome = Outcome(
                "retry",
                error=f"The worker failed on this attempt: {exc!r}"[:500],
                about_destination=False,
            )
        took = time.monotonic() - started
        attempt.duration_ms = round(took * 1000)
        self.requests += 1
        self.request_seconds += took
        # What is stored and shown of the attempt (last_error, the attempt log, the disabled
        # reason, log lines) holds none of the destination's secrets, and no NUL (a record's
        # value quoted by a render error): PostgreSQL's text refuses it, and with it the
        # outcomes of the whole claim, sent but then sent again when their lease runs out.
        outcome.error = without_nul(self.redactor.redact(outcome.error))
        outcome.excerpt = self.redactor.redact(outcome.excerpt)
        attempt.status_code = outcome.status_code
        attempt.response_excerpt = outcome.excerpt
        attempt.error = outcome.error
        return outcome

    # --- Recording ---

    def _flush(self) -> None:
        """Write the outcomes sent since the last flush, and move their deliveries on."""
        self.flushed = time.monotonic()
        if self.sent:
            sent, self.sent = self.sent, []
            self.statuses.update(write_outcomes(self.destination, self.token, sent))


def _defer(delivery_ids: list[int], seconds: float) -> None:
    later = timezone.now() + timedelta(seconds=seconds)
    Delivery.objects.filter(pk__in=delivery_ids, status=Delivery.Status.PENDING).update(
        next_attempt_at=later
    )
