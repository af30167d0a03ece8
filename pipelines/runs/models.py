"""Runs: one batch of source records each, with per-pipeline counts, rejected records and idempotency keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, models
from django.db.models import F
from django.db.models.functions import TruncMinute
from django.utils import timezone

from connectors.jsontext import TextSafeEncoder, dumps_text_safe, without_nul
from connectors.models import Connector
from connectors.prepared import PreparedInsert
from osmosproject.metrics import record_run
from pipelines.mapping.models import Pipeline


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


class Minute(TruncMinute):
    """The minute a moment falls in, as TruncMinute gives it, computed by SQLite itself: Django's
    TruncMinute calls a Python function per row there (76 s to group a million runs). Minutes
    start at the same instants in every time zone, so cutting the stored UTC text is exact."""

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"strftime('%%Y-%%m-%%d %%H:%%M:00', {sql})", params


class RunQuerySet(models.QuerySet):
    def with_errors(self):
        """Runs that rejected or failed something: failed whole, or partially accepted."""
        return self.filter(status__in=Run.WITH_ERRORS)

    def by_minute(self):
        """Runs added up per source and minute: a burst of one-event requests, readable.

        Each row links to its minute's runs, so no request's own detail is lost."""
        failed = models.Q(status__in=Run.WITH_ERRORS)
        return (
            self.order_by()
            .annotate(minute=Minute("started_at"))
            .values("minute", "source_id", "source__name")
            .annotate(
                runs=models.Count("id"),
                with_errors=models.Count("id", filter=failed),
                received=models.Sum("received"),
                accepted=models.Sum("accepted"),
                rejected=models.Sum("rejected"),
                delivered=models.Sum("delivered"),
                failed=models.Sum("failed"),
            )
            .order_by("-minute", "source__name")
        )

    def minutes_before(self, before=None, minutes: int = 60):
        """The window of `minutes` minutes ending with the minute of the newest run that started
        before `before` (any run, if None), as (start, end); None when there is no such run.

        What one page of the by-minute view adds up: grouping every run ever kept to show the
        newest fifty rows read the whole table (a month of webhooks is millions of runs), while
        a window is an index range. The newest run is found on the started_at index too."""
        runs = self if before is None else self.filter(started_at__lt=before)
        newest = runs.order_by("-started_at").values_list("started_at", flat=True).first()
        if newest is None:
            return None
        end = newest.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return end - timedelta(minutes=minutes), end


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

    # The statuses of a run that rejected or failed something (the runs page's "with errors").
    WITH_ERRORS = (Status.FAILED, Status.PARTIAL)

    # No index of its own: run_source_recent (source, -id) leads with it. One b-tree fewer
    # to write on every run (every ingest request).
    source = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
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
    detail = models.JSONField(default=dict, blank=True, encoder=TextSafeEncoder)
    idempotency_key = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

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
        INSERT_RUN(run)
        record_run(run)
        return run

    def finish(self, *, error: str = "") -> None:
        self.settle(error=error)
        # Only what finishing decides: counters belong to their writers (workers add to them).
        self.save(update_fields=["status", "error", "detail", "finished_at"])
        record_run(self)

    def settle(self, *, error: str = "") -> None:
        """Decide the final status from the counts, without saving."""
        # An error may quote what a source answered (a Location, a Content-Type, a next page's
        # URL); PostgreSQL's text holds no NUL, and a refused write would leave the run running.
        self.error = without_nul(error)
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

    # No index of its own: the one_stat_per_pipeline constraint's index leads with it.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="stats", db_index=False)
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

    @classmethod
    def insert(cls, **fields) -> RunStat:
        """`objects.create` for the ingest hot path: one INSERT written once (PreparedInsert)."""
        stat = cls(**fields)
        INSERT_RUN_STAT(stat)
        return stat


class RecordError(models.Model):
    """A record that was not accepted, kept whole with its errors so it can be fixed and resent."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESENT = "resent"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="record_errors")
    # Null: rejected by the source schema; set: rejected by that pipeline's mapping.
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, null=True, blank=True)
    index = models.PositiveIntegerField()
    record = models.JSONField(null=True, encoder=TextSafeEncoder)
    errors = models.JSONField(default=list, encoder=TextSafeEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "index", "id"]

    def __str__(self) -> str:
        return f"Record {self.index} of run {self.run_id}"

    @classmethod
    def keep(cls, run: Run, rejected: list[tuple[int, Any, list]], pipeline=None) -> None:
        """Keep `run`'s rejected records, each (index, record, errors); `pipeline` when its
        mapping refused them, None when the source schema did.

        As rows, not model instances: the JSON fields' own conversion (json.dumps with an
        encoder class) took 4.7-7 ms for 100 records; their text is written here
        by orjson, NUL characters kept as U+FFFD as TextSafeEncoder keeps them."""
        if not rejected:
            return
        INSERT_RECORD_ERRORS.insert_alike(
            cls(run=run, pipeline=pipeline),
            ("index", "record", "errors"),
            (
                (
                    index,
                    None if record is None else dumps_text_safe(record),
                    dumps_text_safe(errors),
                )
                for index, record, errors in rejected
            ),
            len(rejected),
        )


class IdempotencyKey(models.Model):
    """The first response to an ingest request, replayed for repeats of the same key."""

    # No index of its own: the one_idempotency_key constraint's index leads with it.
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=202)
    response = models.JSONField(default=dict, encoder=TextSafeEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the lock that makes two concurrent repeats store one run.
            models.UniqueConstraint(fields=["connector", "key"], name="one_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_age")]

    def __str__(self) -> str:
        return f"{self.key} ({self.connector_id})"


# One of each per ingest request: their INSERTs are written once (connectors/prepared.py).
INSERT_RUN = PreparedInsert(Run)
INSERT_RUN_STAT = PreparedInsert(RunStat)
# Rejected records, many at a time (`.many`: why not bulk_create, in connectors/prepared.py).
INSERT_RECORD_ERRORS = PreparedInsert(RecordError)
