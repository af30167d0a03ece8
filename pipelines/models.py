from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.db import connection, models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from connectors import jsontext
from connectors.models import Connector
from osmosproject.metrics import record_run


class Counters:
    """Counter columns that many writers add to (pages, ingest requests, workers)."""

    @classmethod
    def add(cls, where: dict, **deltas: int) -> int:
        """`UPDATE ... SET n = n + %s WHERE ...`: no read-modify-write race, and plain SQL because
        resolving F() expressions costs more than the statement on per-page hot paths."""
        meta = cls._meta
        quote = connection.ops.quote_name
        sets = ", ".join(
            f"{quote(meta.get_field(k).column)} = {quote(meta.get_field(k).column)} + %s"
            for k in deltas
        )
        conditions = " AND ".join(f"{quote(meta.get_field(k).column)} = %s" for k in where)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {conditions}",
                [*deltas.values(), *where.values()],
            )
            return cursor.rowcount


@dataclass
class PreparedBatch:
    """One pipeline's share of a batch, mapped and encoded, waiting for its run's transaction."""

    pipeline: Pipeline
    output: Any  # pipelines.outputs.Output
    encoded: Any  # what output.encode made of the good records; None when there are none
    accepted: int
    rejected: list[tuple[int, Any, list[dict]]]  # (index in the run, record, errors)

    @property
    def delivered(self) -> int:
        """Records delivered by storing them (a mailbox); HTTP deliveries count later."""
        return self.accepted if self.output.delivers_at_once else 0

    def store(self, run: Run, *, new_run: bool = False) -> None:
        """Write the batch into `run`; inside the accepting transaction.

        `new_run`: the run was created in this transaction, so it has no stat to add to yet.
        """
        pipeline = self.pipeline
        RecordError.objects.bulk_create(
            [
                RecordError(run=run, pipeline=pipeline, index=index, record=record, errors=errors)
                for index, record, errors in self.rejected
            ],
            batch_size=500,
        )
        if self.encoded is not None:
            self.output.accept(pipeline, run, self.encoded)
        counts = {
            "accepted": self.accepted,
            "rejected": len(self.rejected),
            "delivered": self.delivered,
        }
        # Pulls store once per page: add to the run's stat, creating it on the first page.
        if new_run or not RunStat.add({"run": run.pk, "pipeline": pipeline.pk}, **counts):
            RunStat.objects.create(run=run, pipeline=pipeline, **counts)


class PipelineQuerySet(models.QuerySet):
    def enabled_for(self, source_id: int):
        """The pipelines a source's records go through: on every ingest request, so kept lean
        (no ordering to resolve, only the destination columns the outputs read)."""
        return (
            self.filter(source_id=source_id, enabled=True)
            .select_related("destination__schema", "source__schema")
            .only(
                "id",
                "updated_at",
                "source__id",
                "source__schema__id",
                "source__schema__updated_at",
                "destination__id",
                "destination__kind",
                "destination__batch_size",
                "destination__schema__id",
                "destination__schema__updated_at",
            )
            .order_by("id")
        )


class Pipeline(models.Model):
    """Joins a source to a destination and turns each source record into a destination record."""

    name = models.CharField(max_length=200)
    source = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="outgoing_pipelines"
    )
    destination = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="incoming_pipelines"
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PipelineQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def mapping_specs(self):
        return [m.spec() for m in self.mappings.all()]

    def compiled(self, *, validated: bool = False):
        """The pipeline compiled once (templates, transforms, validators), reused while unchanged.

        `validated`: the records will have passed the source schema (every source checks them
        before `process`), so same-named fields of the same type need no second coercion.
        """
        schema = self.destination.schema
        source = self.source.schema if validated else None
        return _compile(
            self.pk,
            self.updated_at,
            schema.pk,
            schema.updated_at,
            source.pk if source else None,
            source.updated_at if source else None,
        )

    def preview(self, records: list) -> dict:
        """What `process` would do with these records, without storing or sending anything."""
        compiled = self.compiled()
        mapped, errors = [], []
        for index, record in enumerate(records):
            out, record_errors = compiled.map(record)
            mapped.append(out)
            errors.extend({"index": index, **error} for error in record_errors)
        result = {"records": mapped, "errors": errors}
        if self.destination.kind == Connector.Kind.HTTP_DESTINATION:
            from connectors.outbound import RenderError, render_request

            good = [r for r in mapped if r is not None]
            size = max(1, self.destination.batch_size)
            result["requests"] = []
            for i in range(0, len(good), size):
                # A batch that cannot be rendered is shown with its reason, as a delivery would fail.
                try:
                    request = render_request(
                        self.destination, good[i : i + size], idempotency_key="preview"
                    )
                    result["requests"].append(request.masked())
                except RenderError as exc:
                    result["requests"].append({"error": str(exc)})
        return result

    def suggestions(self) -> dict:
        from pipelines.mapping import suggest_mapping

        source_fields = [f.name for f in self.source.schema.fields.all()]
        destination_fields = [f.name for f in self.destination.schema.fields.all()]
        mapped = {m.target: m.as_dict() for m in self.mappings.all()}
        suggested = suggest_mapping(
            source_fields, [f for f in destination_fields if f not in mapped]
        )
        return {
            "source_fields": source_fields,
            "destination_fields": destination_fields,
            "mapped": mapped,
            "suggested": suggested,
        }

    def prepare(self, records: list[dict], indices: list[int] | None = None) -> PreparedBatch:
        """Map records to the destination and encode them: CPU only, no query.

        Callers prepare before their transaction opens, so it holds the write lock only for
        the writes (`PreparedBatch.store`).
        """
        from pipelines.outputs import output_for

        compiled = self.compiled(validated=True)
        indices = indices if indices is not None else list(range(len(records)))
        good, bad = [], []
        for index, record in zip(indices, records, strict=True):
            mapped, errors = compiled.map(record)
            if errors:
                bad.append((index, record, errors))
            else:
                good.append(mapped)
        output = output_for(self.destination.kind)
        return PreparedBatch(
            self, output, output.encode(self, good) if good else None, len(good), bad
        )

    def replace_mappings(self, mappings: list[dict]) -> None:
        """Set the whole mapping table at once, as the API and the editor send it."""
        self.mappings.all().delete()
        Mapping.objects.bulk_create(
            Mapping(pipeline=self, position=i, **mapping) for i, mapping in enumerate(mappings)
        )
        self.save(update_fields=["updated_at"])


@lru_cache(maxsize=256)
def _compile(pipeline_id, updated_at, schema_id, schema_updated_at, source_id, source_updated_at):
    # The key holds the timestamps: saving the pipeline or either schema recompiles.
    from pipelines.mapping import compile_mapping

    pipeline = Pipeline.objects.select_related("destination__schema", "source__schema").get(
        pk=pipeline_id
    )
    validated_by = pipeline.source.schema.specs() if source_id is not None else ()
    return compile_mapping(
        pipeline.mapping_specs(), pipeline.destination.schema.specs(), validated_by
    )


class Mapping(models.Model):
    """How one destination field gets its value: a source path, a template or a constant."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="mappings")
    position = models.PositiveIntegerField(default=0)
    target = models.CharField(max_length=200)
    source = models.CharField(max_length=200, blank=True)
    template = models.TextField(blank=True)
    # A constant applies when neither source nor template is set; it may be any JSON value.
    value = models.JSONField(null=True, blank=True)
    transforms = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "target"], name="one_mapping_per_target")
        ]

    def __str__(self) -> str:
        return f"{self.target} <- {self.source or self.template or repr(self.value)}"

    def as_dict(self) -> dict:
        """The contract's shape: one of source, template or value, then transforms."""
        if self.source:
            data = {"target": self.target, "source": self.source}
        elif self.template:
            data = {"target": self.target, "template": self.template}
        else:
            data = {"target": self.target, "value": self.value}
        return {**data, "transforms": self.transforms}

    def spec(self):
        from pipelines.mapping import MappingSpec

        if self.source:
            return MappingSpec(target=self.target, source=self.source, transforms=self.transforms)
        if self.template:
            return MappingSpec(
                target=self.target, template=self.template, transforms=self.transforms
            )
        return MappingSpec(target=self.target, value=self.value, transforms=self.transforms)


class Run(Counters, models.Model):
    """One batch of source records: an ingest request, a scheduled or manual pull, an upload."""

    class Trigger(models.TextChoices):
        INGEST = "ingest"
        SCHEDULE = "schedule"
        MANUAL = "manual"
        UPLOAD = "upload"
        RESEND = "resend"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "Partially accepted"
        FAILED = "failed"

    source = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    received = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The failing request and response of a pull, for people to read.
    detail = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The runs list filters by source and status, newest first; retention purges by age.
            models.Index(fields=["source", "-id"], name="run_source_recent"),
            models.Index(fields=["started_at"], name="run_started"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.source}"

    @classmethod
    def create_finished(cls, **fields) -> Run:
        """A run whose outcome is known when it is stored (an ingest request): one INSERT."""
        run = cls(**fields)
        run.settle()
        run.save(force_insert=True)
        record_run(run)
        return run

    def finish(self, *, error: str = "") -> None:
        self.settle(error=error)
        # Only what finishing decides: counters belong to their writers (workers add to them).
        self.save(update_fields=["status", "error", "detail", "finished_at"])
        record_run(self)

    def settle(self, *, error: str = "") -> None:
        """Decide the final status from the counts, without saving."""
        self.error = error
        if error or (self.rejected and not self.accepted):
            self.status = Run.Status.FAILED
        elif self.rejected:
            self.status = Run.Status.PARTIAL
        else:
            self.status = Run.Status.SUCCEEDED
        self.finished_at = timezone.now()

    def count_delivery(self, pipeline_id: int, *, delivered: int = 0, failed: int = 0) -> None:
        """Delivery outcomes arrive later, from workers: add them without a read-modify-write race."""
        Run.objects.filter(pk=self.pk).update(
            delivered=F("delivered") + delivered, failed=F("failed") + failed
        )
        RunStat.objects.filter(run_id=self.pk, pipeline_id=pipeline_id).update(
            delivered=F("delivered") + delivered, failed=F("failed") + failed
        )


class RunStat(Counters, models.Model):
    """Per-pipeline counts of one run (a source fans out to several pipelines)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="stats")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="run_stats")
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "pipeline"], name="one_stat_per_pipeline")
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} / pipeline {self.pipeline_id}"


class RecordError(models.Model):
    """A record that was not accepted, kept whole with its errors so it can be fixed and resent."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESENT = "resent"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="record_errors")
    # Null: rejected by the source schema; set: rejected by that pipeline's mapping.
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, null=True, blank=True)
    index = models.PositiveIntegerField()
    record = models.JSONField(null=True)
    errors = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "index", "id"]

    def __str__(self) -> str:
        return f"Record {self.index} of run {self.run_id}"


class IdempotencyKey(models.Model):
    """The first response to an ingest request, replayed for repeats of the same key."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=202)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the lock that makes two concurrent repeats store one run.
            models.UniqueConstraint(fields=["connector", "key"], name="one_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_age")]

    def __str__(self) -> str:
        return f"{self.key} ({self.connector_id})"


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
        from pipelines.delivery import REQUEUE_AFTER

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

    def dead_since(self, since):
        return self.filter(status=Delivery.Status.DEAD, updated_at__gte=since)

    def replay_all(self) -> int:
        """Replay each delivery; the number that were sent again."""
        return sum(delivery.replay() for delivery in self.select_related("run"))


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
            # The concurrency limit counts a destination's deliveries in flight.
            models.Index(fields=["destination", "status"], name="delivery_destination_status"),
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
    def create_all(cls, deliveries: list[Delivery]) -> list[Delivery]:
        """Insert new deliveries, each given its `records`, and their payloads: two INSERTs.

        A delivery's `payload_text`, when set, is its records already encoded."""
        created = cls.objects.bulk_create(deliveries)
        DeliveryPayload.objects.bulk_create(
            DeliveryPayload(
                delivery=delivery,
                body=delivery.payload_text or DeliveryPayload.encode(delivery.records),
            )
            for delivery in created
        )
        for delivery in created:
            delivery._records_unsaved = False
        return created

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
        """Take its records from payload text read along with the row, saving a query."""
        # A row written without its payload fails visibly as carrying no record; never a crash
        # that would leave it to be claimed again and again.
        # Decoded only if something needs the records: an untemplated batch is sent as this text.
        self.payload_text = body
        self._records = None if body is not None else []

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt and replay, so the receiver can drop repeats."""
        return str(self.pk)

    @property
    def round_attempts(self) -> int:
        return self.attempts - self.attempts_before_replay

    def attempt(self) -> str | None:
        """Claim, send, record; the status it ended in, or None when it was not ours to send."""
        from pipelines.courier import deliver

        return deliver(self.pk)

    def replay(self) -> bool:
        """Send a delivered, failed or dead delivery again, with the same idempotency key."""
        from pipelines.delivery import replay

        return replay(self)


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
    def decode(body: str) -> list:
        # Payloads written before jsontext (by json.dumps) may hold NaN or Infinity, which
        # orjson refuses.
        try:
            return jsontext.loads(body)
        except jsontext.JSONDecodeError:
            return json.loads(body)


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


class SeenKey(models.Model):
    """A record an HTTP source already passed on, kept as a hash for de-duplication across runs."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    # 128 bits of BLAKE2b over the primary key (and cursor value): compact, collisions negligible.
    key_hash = models.CharField(max_length=32)

    class Meta:
        constraints = [
            # Also the index of each page's lookup: WHERE connector_id = ? AND key_hash IN (...).
            models.UniqueConstraint(fields=["connector", "key_hash"], name="one_seen_key")
        ]

    def __str__(self) -> str:
        return f"{self.connector_id}:{self.key_hash}"


class PullLock(models.Model):
    """The run pulling an HTTP source right now, under a lease: never two runs of one source at once.

    Claimed and renewed with guarded updates; a worker that dies stops renewing, and the
    lease running out frees the source for the next run.
    """

    connector = models.OneToOneField(
        Connector, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Pull lock of {self.connector_id} (run {self.run_id})"

    @classmethod
    def acquire(cls, run: Run, lease_seconds: float) -> bool:
        """Take the source for `run` if it is free or its holder's lease ran out."""
        now = timezone.now()
        cls.objects.get_or_create(connector_id=run.source_id)
        free = models.Q(run__isnull=True) | models.Q(lease_expires_at__lte=now)
        taken = cls.objects.filter(free, connector_id=run.source_id).update(
            run=run, lease_expires_at=now + timedelta(seconds=lease_seconds)
        )
        return taken == 1

    @classmethod
    def renew(cls, run: Run, lease_seconds: float) -> bool:
        """Extend the lease; False when `run` lost it (it ran out and another run took over)."""
        expires = timezone.now() + timedelta(seconds=lease_seconds)
        return (
            cls.objects.filter(connector_id=run.source_id, run=run).update(lease_expires_at=expires)
            == 1
        )

    @classmethod
    def release(cls, run: Run) -> None:
        cls.objects.filter(connector_id=run.source_id, run=run).update(
            run=None, lease_expires_at=None
        )

    @classmethod
    def holder(cls, connector: Connector) -> int | None:
        """The id of the run holding a live lease on `connector`, if any."""
        lock = cls.objects.filter(connector=connector, lease_expires_at__gt=timezone.now()).first()
        return lock.run_id if lock else None


class Upload(models.Model):
    """A CSV file uploaded from the browser, turned into a run by a worker, with its progress."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="uploads")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    filename = models.CharField(max_length=255)
    # The file's text until a worker has read it; emptied afterwards (the run keeps the outcome).
    content = models.TextField(blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == Upload.Status.DONE:
            return 100
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0
