"""A pull run: each page validated and sent through every enabled pipeline of the source in
its own transaction (memory stays bounded however long the read), under the source's lock.
Page N + 1 is fetched (reading.py) and prepared while page N is written (writing.py).

The incremental cursor moves only once every page is committed, so a crash re-reads rather
than skips.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors import jsontext
from connectors.models import Connector
from connectors.redaction import Redactor
from connectors.schema import get_path
from pipelines.mapping.models import Pipeline
from pipelines.pull.models import INSERT_SEEN_KEYS, PullLock, SeenKey
from pipelines.pull.pagination import (
    Page,
    PullError,
)
from pipelines.pull.reading import RetryPolicy, read_ahead, read_pages
from pipelines.pull.writing import UNCOMMITTED_AT_MOST, can_write_behind, written_behind
from pipelines.runs.batches import (
    PreparedBatch,
    Rejected,
    check_records,
    delivered_at_once,
    prepare_all,
    store_all,
)
from pipelines.runs.models import RecordError, Run

logger = logging.getLogger("pipelines.pulling")


class SourceBusy(Exception):
    def __init__(self, run_id: int | None):
        super().__init__(f"Run {run_id} is reading this source now.")
        self.run_id = run_id


# --- Runs ---------------------------------------------------------------------------------


def lease_seconds(connector: Connector) -> float:
    """Long enough for the slowest page (every attempt timing out, every wait at its cap)."""
    policy = RetryPolicy.for_runs()
    return policy.attempts * (connector.timeout_seconds + policy.max_wait_seconds) + 60


def queue_pull(connector: Connector) -> Run:
    """Create a manual run and hand it to the workers once committed; SourceBusy if one is reading."""
    from django_q.tasks import async_task

    holder = PullLock.holder(connector)
    if holder is not None:
        raise SourceBusy(holder)
    run = Run.objects.create(source=connector, trigger=Run.Trigger.MANUAL)
    transaction.on_commit(
        lambda: async_task(
            "pipelines.pull.tasks.pull_source", connector.pk, Run.Trigger.MANUAL, run_id=run.pk
        )
    )
    return run


def pull(
    connector: Connector, trigger: str = Run.Trigger.MANUAL, run: Run | None = None
) -> Run | None:
    """Read the source and send its records through its enabled pipelines, as one run.

    Returns the run, or None for a scheduled pull that found another run reading the source
    or no enabled pipeline (a manual run that finds the source busy is recorded as failed, so
    the person who asked sees why).
    """
    if connector.kind != Connector.Kind.HTTP_SOURCE or not connector.enabled:
        # Disabled (or changed) between being queued and now.
        if run is not None:
            run.finish(
                error="The source is disabled or no longer an HTTP source; nothing was read."
            )
        return run
    if (
        trigger == Run.Trigger.SCHEDULE
        and not Pipeline.objects.filter(source=connector, enabled=True).exists()
    ):
        # Nobody would receive the records, yet the cursor would move past them.
        logger.info("source=%s skipped: no enabled pipeline reads it", connector.pk)
        return None
    run = run or Run(source=connector, trigger=trigger)
    with transaction.atomic():
        if run.pk is None:
            run.save()
        previous = (
            PullLock.objects.filter(connector=connector).values_list("run_id", flat=True).first()
        )
        if not PullLock.acquire(run, lease_seconds(connector)):
            if trigger == Run.Trigger.SCHEDULE:
                transaction.set_rollback(True)
                logger.info("source=%s skipped: run %s is still reading it", connector.pk, previous)
                return None
            run.finish(
                error=f"Run {previous} was still reading this source; try again when it has finished."
            )
            return run
        if previous is not None and previous != run.pk:
            # Its lease ran out: the worker died or was killed mid-run.
            Run.objects.filter(pk=previous, status=Run.Status.RUNNING).update(
                status=Run.Status.FAILED,
                error="Interrupted: the worker stopped before the run finished.",
                finished_at=timezone.now(),
            )
    reader: RunReader | None = None
    redactor = Redactor.for_connector(connector)
    try:
        reader = RunReader(connector, run, redactor)
        reader.read()
    except Exception as exc:
        if not isinstance(exc, PullError):
            # Our own failure (database, mapping): recorded like the source's, and logged for us.
            logger.exception("source=%s run=%s failed", connector.pk, run.pk)
            exc = PullError(f"{type(exc).__name__}: {exc}", page=reader.pages + 1 if reader else 0)
        # The run's error and detail are shown on pages, in the API and in log lines.
        close_run(
            run,
            error=redactor.redact(exc.message),
            detail=redactor.redact_data(exc.detail(connector.secret_header_names())),
        )
    else:
        reader.commit_cursor()
        close_run(run, detail=reader.summary())
    finally:
        PullLock.release(run)
    run.refresh_from_db()
    return run


def close_run(run: Run, *, error: str = "", detail: dict) -> None:
    # Locked and reloaded: delivery workers add to `delivered` / `failed` while we read.
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        locked.detail = detail
        locked.finish(error=error)


@dataclass
class PreparedPage:
    """A page validated, mapped and encoded, waiting for its transaction."""

    number: int
    records: list  # as received: the run's counts and the cursor
    accepted: int
    rejected: list[Rejected]
    new_keys: list[str]  # key hashes to remember when the page commits
    batches: list[PreparedBatch]


class RunReader:
    """The pages of one run, each committed with its records in a transaction of its own, in
    order; the next is read while this one is prepared."""

    def __init__(self, connector: Connector, run: Run, redactor: Redactor | None = None):
        self.connector = connector
        self.run = run
        self.redactor = redactor
        self.validator = connector.schema.compile()
        self.pipelines = list(Pipeline.objects.enabled_for(connector.pk))
        self.lease = lease_seconds(connector)
        self.renewed_at = time.monotonic()
        self.pages = self.received = self.duplicates = 0
        # Records validated so far (`received` counts the committed ones): the next index.
        self.handed_over = 0
        self.recent_keys: deque[set[str]] = deque(maxlen=UNCOMMITTED_AT_MOST)
        self.cursor_before = (connector.state or {}).get("cursor")
        self.highest: Any = None

    def read(self) -> None:
        # The next page is fetched while this one is prepared and the one before is written.
        with written_behind(self.write, behind=can_write_behind()) as write:
            for page in read_ahead(read_pages(self.connector, redactor=self.redactor)):
                if page.records:
                    write(self.prepare(page))

    def prepare(self, page: Page) -> PreparedPage:
        """Validate, drop records seen before, map and encode: everything but the writes."""
        good, indices, bad = check_records(self.validator, page.records, self.handed_over)
        new_keys: list[str] = []
        if self.connector.primary_key and good:
            good, indices, new_keys = self.drop_seen(good, indices)
        self.handed_over += len(page.records)
        return PreparedPage(
            page.number,
            page.records,
            len(good),
            bad,
            new_keys,
            prepare_all(self.connector.pk, good, indices, self.pipelines),
        )

    def write(self, page: PreparedPage) -> None:
        """One page's transaction; maybe in the write-behind thread (writing.py)."""
        with transaction.atomic():
            # Rows, not model instances: a SeenKey each and their conversion took about 1 ms of
            # a 100-record page's CPU.
            INSERT_SEEN_KEYS.insert_alike(
                SeenKey(connector=self.connector),
                ("key_hash",),
                ((key,) for key in page.new_keys),
                len(page.new_keys),
            )
            # Renewed when a quarter of the lease is used, not on every page: one query less per page.
            if time.monotonic() - self.renewed_at > self.lease / 4:
                if not PullLock.renew(self.run, self.lease):
                    raise PullError(
                        "Another run took over this source (this run's lease ran out).",
                        page=page.number,
                    )
                self.renewed_at = time.monotonic()
            RecordError.keep(self.run, page.rejected)
            Run.add(
                {"id": self.run.pk},
                pages=1,
                received=len(page.records),
                accepted=page.accepted,
                rejected=len(page.rejected),
                delivered=delivered_at_once(page.batches),
            )
            store_all(self.run, page.batches)
        # Counted once committed: a failed run reports the pages it kept.
        self.pages += 1
        self.received += len(page.records)
        if self.connector.cursor_field:
            for record in page.records:
                self.highest = highest(self.highest, get_path(record, self.connector.cursor_field))

    def drop_seen(
        self, records: list[dict], indices: list[int]
    ) -> tuple[list[dict], list[int], list[str]]:
        """Leave out records passed on before (this run or an earlier one); the rest, their
        indices, and the keys to remember when the page commits."""
        keys = [self.seen_key(record) for record in records]
        seen = set(
            SeenKey.objects.filter(
                connector=self.connector, key_hash__in=[k for k in keys if k]
            ).values_list("key_hash", flat=True)
        )
        # Keys of pages handed over but perhaps not committed yet are not in the table.
        for recent in self.recent_keys:
            seen.update(key for key in keys if key in recent)
        kept, kept_indices, new = [], [], []
        for record, index, key in zip(records, indices, keys, strict=True):
            if key and key in seen:
                self.duplicates += 1
                continue
            if key:
                seen.add(key)
                new.append(key)
            kept.append(record)
            kept_indices.append(index)
        self.recent_keys.append(set(new))
        return kept, kept_indices, new

    def seen_key(self, record: dict) -> str | None:
        """The primary key, and the cursor value when there is one: an updated record is new again."""
        names = [name.strip() for name in self.connector.primary_key.split(",")]
        values = [get_path(record, name) for name in names]
        if all(value is None for value in values):
            return None
        if self.connector.cursor_field:
            values.append(get_path(record, self.connector.cursor_field))
        return hashlib.blake2b(jsontext.dumps(values).encode(), digest_size=16).hexdigest()

    def commit_cursor(self) -> None:
        """Called once every page is committed: the next run starts from the highest value seen."""
        if self.highest is None:
            return
        # The cursor is a record's value: a NUL in it would fail the write on PostgreSQL (jsonb),
        # after every page was committed, and leave the run running.
        cursor = jsontext.without_nul(highest(self.cursor_before, self.highest))
        state = {**(self.connector.state or {}), "cursor": cursor}
        Connector.objects.filter(pk=self.connector.pk).update(state=state)
        self.connector.state = state

    def summary(self) -> dict:
        detail: dict[str, Any] = {"pages": self.pages, "received": self.received}
        if self.connector.primary_key:
            detail["duplicates"] = self.duplicates
        if self.connector.cursor_field:
            detail["cursor"] = {
                "before": self.cursor_before,
                "after": (self.connector.state or {}).get("cursor"),
            }
        return detail


def highest(current: Any, value: Any) -> Any:
    """The larger of two cursor values: numbers by value, ISO dates and times by time, else as text."""
    if value is None:
        return current
    if current is None:
        return value
    return value if _order_key(value, current) > _order_key(current, value) else current


def _order_key(value: Any, other: Any) -> Any:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and isinstance(other, int | float)
    ):
        return value
    if isinstance(value, str) and isinstance(other, str):
        try:
            moment, other_moment = datetime.fromisoformat(value), datetime.fromisoformat(other)
        except ValueError:
            return value
        if (moment.tzinfo is None) == (other_moment.tzinfo is None):
            return moment
    return str(value)
