"""Deliveries: the outbound requests to HTTP destinations, their payloads and every attempt."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.db import connections, models
from django.db.models import Count, F
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors import jsontext
from connectors.models import Connector
from connectors.prepared import PreparedInsert
from pipelines.mapping.models import Pipeline
from pipelines.runs.models import Run

# After this long without being claimed, a queued task is presumed lost and queued again.
REQUEUE_AFTER = timedelta(minutes=5)
# Payloads are inserted this many bytes of text at a time: the driver builds each statement
# with its values quoted in (PostgreSQL) or bound alongside, so one INSERT of a 10 MB run's
# payloads would add another copy of them or two to the web process's peak memory.
PAYLOAD_INSERT_BYTES = 1_000_000


class DeliveryQuerySet(models.QuerySet):
    def due(self, now=None):
        """Pending and due, or claimed by a worker whose lease ran out."""
        now = now or timezone.now()
        return self.filter(
            models.Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            | models.Q(status=Delivery.Status.DELIVERING, lease_expires_at__lte=now)
        )

    def to_sweep(self, now=None):
        """Due deliveries that no queued task covers: a retry or an expired lease came after the
        last enqueue, or that enqueue is so old that its task must have been lost."""
        now = now or timezone.now()
        return (
            self.due(now)
            .filter(destination__enabled=True)
            .annotate(last_queued=Coalesce("queued_at", "created_at"))
            .filter(
                models.Q(status=Delivery.Status.PENDING, last_queued__lt=F("next_attempt_at"))
                | models.Q(status=Delivery.Status.DELIVERING, last_queued__lt=F("lease_expires_at"))
                | models.Q(last_queued__lte=now - REQUEUE_AFTER)
            )
        )

    def waiting(self) -> dict[str, int]:
        """Deliveries not finished yet, by status, and how many of them are due (for /metrics)."""
        counts = dict(
            self.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.DELIVERING])
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {
            "pending": counts.get(Delivery.Status.PENDING, 0),
            "delivering": counts.get(Delivery.Status.DELIVERING, 0),
            "due": self.due().count(),
        }

    def dead_since(self, since):
        return self.filter(status=Delivery.Status.DEAD, updated_at__gte=since)


class Delivery(models.Model):
    """One outbound request (one record, or one batch) to an HTTP destination. The source of truth, not the queue."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        DELIVERED = "delivered"
        FAILED = "failed"
        DEAD = "dead"

    FINAL = (Status.DELIVERED, Status.FAILED, Status.DEAD)

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="deliveries")
    run = models.ForeignKey(
        Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # The records themselves are in its DeliveryPayload; lists and counts need only their number.
    record_count = models.PositiveIntegerField(default=0)
    # Counted when a worker claims the delivery, before the request goes out: a worker that
    # dies mid-request has still used an attempt.
    attempts = models.PositiveIntegerField(default=0)
    # A replay starts a fresh round of max_attempts; attempt numbers keep counting.
    attempts_before_replay = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the claim that holds the lease: one guarded UPDATE claims many deliveries, and
    # this tells the claiming task which of them are its own.
    claimed_by = models.UUIDField(null=True, blank=True, editable=False)
    # Sent as Idempotency-Key (and webhook-id): the same on every attempt and replay, and unlike
    # the row id never seen again after a database reset or from another installation, so a
    # receiver that drops repeated keys never drops a new delivery. Python-side default: set by
    # `create_batches` too.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # When the sweeper last put a task on the queue for it (the first task: created_at).
    queued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The sweeper's query: due pending deliveries and expired leases.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["status", "lease_expires_at"], name="delivery_lease"),
            models.Index(fields=["pipeline", "status"], name="delivery_pipeline_status"),
            # The concurrency limit counts a destination's deliveries in flight; a task takes
            # along its destination's other due deliveries, oldest first (courier.py).
            models.Index(
                fields=["destination", "status", "next_attempt_at"], name="delivery_destination_due"
            ),
        ]

    # Records given to this instance (or read once from its payload), and whether save() must
    # write them: the row itself does not hold them.
    _records: list | None = None
    payload_text: str | None = None
    _records_unsaved = False

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        if self._records_unsaved:
            DeliveryPayload.objects.update_or_create(
                delivery=self, defaults={"body": DeliveryPayload.encode(self.records)}
            )
            self._records_unsaved = False

    @classmethod
    def create_batches(
        cls, pipeline: Pipeline, run: Run | None, batches: list[tuple[int, str]]
    ) -> list[int]:
        """Insert a pending delivery to `pipeline`'s destination for each (record count, payload
        text) of `batches`, and their payloads; their ids, in order.

        Without a model instance per delivery and per payload: the deliveries of a run differ
        only in their record count, idempotency key and payload, so the other columns are
        converted once. A 100-record request fanned out a delivery
        per record made 190 instances and converted 1,900 values for them."""
        key = cls._meta.get_field("idempotency_key")
        connection = connections[INSERT_DELIVERIES.using]
        ids = INSERT_DELIVERIES.insert_alike(
            cls(pipeline=pipeline, destination=pipeline.destination, run=run),
            ("record_count", "idempotency_key"),
            ((count, key.get_db_prep_save(uuid.uuid4(), connection)) for count, _ in batches),
            len(batches),
        )
        DeliveryPayload.insert(
            (delivery_id, text) for delivery_id, (_, text) in zip(ids, batches, strict=True)
        )
        return ids

    @property
    def records(self) -> list:
        """The records it carries, read from its payload the first time they are needed."""
        if self._records is None:
            self._records = DeliveryPayload.decode(self.payload_text or self.payload.body)
        return self._records

    @records.setter
    def records(self, records: list) -> None:
        self._records = records
        self._records_unsaved = True
        self.record_count = len(records)

    def use_payload(self, body: str | None) -> None:
        """Take its records from payload text (read along with the row, saving a query, or
        just encoded for a new delivery), decoded only if something asks for them."""
        # A row written without its payload fails visibly as carrying no record; never a crash
        # that would leave it to be claimed again and again. An untemplated batch is sent as
        # this text, never decoded.
        self.payload_text = body
        self._records = None if body is not None else []

    @property
    def round_attempts(self) -> int:
        return self.attempts - self.attempts_before_replay


class DeliveryPayload(models.Model):
    """A delivery's records, as JSON text encoded once when the delivery is created.

    Not a column of Delivery: a batch's records are tens of KB, and on SQLite every status update
    (the claim, the outcome, a lease renewal) rewrites the whole row, and every read of the small
    columns walks past them. Here they are written once, read once per attempt by primary key,
    and decoded with orjson rather than through a JSONField.
    """

    delivery = models.OneToOneField(
        Delivery, on_delete=models.CASCADE, primary_key=True, related_name="payload"
    )
    body = models.TextField()

    def __str__(self) -> str:
        return f"Payload of delivery {self.delivery_id}"

    @staticmethod
    def encode(records: list) -> str:
        return jsontext.dumps(records)

    @staticmethod
    def insert(payloads: Iterable[tuple[int, str]]) -> None:
        """Insert (delivery id, body) pairs, PAYLOAD_INSERT_BYTES of text to a statement at most
        (one payload larger than that alone)."""

        def write(chunk: list[tuple[int, str]]) -> None:
            INSERT_PAYLOADS.insert_alike(DeliveryPayload(), ("delivery", "body"), chunk, len(chunk))

        chunk: list[tuple[int, str]] = []
        size = 0
        for delivery_id, body in payloads:
            if chunk and size + len(body) > PAYLOAD_INSERT_BYTES:
                write(chunk)
                chunk, size = [], 0
            chunk.append((delivery_id, body))
            size += len(body)
        if chunk:
            write(chunk)

    @staticmethod
    def decode(body: str) -> list:
        # Payloads written before jsontext (by json.dumps) may hold NaN or Infinity, which
        # orjson refuses.
        try:
            return jsontext.loads(body)
        except jsontext.JSONDecodeError:
            return json.loads(body)


# The inserts of `create_batches`, written once (connectors/prepared.py
# says why not bulk_create).
INSERT_DELIVERIES = PreparedInsert(Delivery)
INSERT_PAYLOADS = PreparedInsert(DeliveryPayload)


class DeliveryAttempt(models.Model):
    """One try at sending a delivery, written when it starts and completed when it ends."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_method = models.CharField(max_length=8, blank=True)
    request_url = models.CharField(max_length=2000, blank=True)
    # Secrets masked before they are stored.
    request_headers = models.JSONField(default=dict, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        indexes = [
            # The rate limit counts a destination's attempts of the last second(s).
            models.Index(fields=["started_at"], name="attempt_started"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}"


# A task's new attempts, written together with their outcomes (recording.py).
INSERT_ATTEMPTS = PreparedInsert(DeliveryAttempt)
