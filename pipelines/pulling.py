"""The HTTP source: we call the customer's API, follow its pages and pass the records on.

`read_pages` builds each request (templates over `state`, `now` and the connector's
variables), sends it through the outbound chokepoint with retries, finds the records and
asks the paginator (`pagination.py`) for the next page; it stores nothing. `pull` is a run:
each page is validated and sent through every enabled pipeline of the source in its own
transaction (memory stays bounded however long the read), and the incremental cursor moves
only once every page is committed, so a crash re-reads rather than skips. `read_sample` is
the builder's test read.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors import auth, http, jsontext
from connectors.formats import BodyError, extract_records, parse_response_records
from connectors.models import Connector
from connectors.schema import get_path, infer_schema
from connectors.templating import TemplateError, is_template, render_template
from pipelines.batches import check_records, keep_rejected, prepare_all, store_all
from pipelines.models import Pipeline, PullLock, Run, SeenKey
from pipelines.pagination import (
    MaxPagesReached,
    Page,
    PageRequest,
    PullError,
    RepeatGuard,
    describe_response,
    paginator_for,
)

logger = logging.getLogger("pipelines.pulling")

# What a test read returns at most, to keep the answer small for the browser.
SAMPLE_MAX_RECORDS = 500
SAMPLE_MAX_PAGES = 10


class SourceBusy(Exception):
    def __init__(self, run_id: int | None):
        super().__init__(f"Run {run_id} is reading this source now.")
        self.run_id = run_id


# --- The first request ----------------------------------------------------------------------


def template_context(connector: Connector, now: datetime | None = None) -> dict:
    """What URL, query, header and body templates see; `now` is fixed for the whole run."""
    moment = (now or timezone.now()).astimezone(UTC)
    return {
        **(connector.variables or {}),
        "state": dict(connector.state or {}),
        "now": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def first_request(connector: Connector, context: dict) -> PageRequest:
    """The request of the first page, templates rendered.

    Query values are rendered one by one and encoded when sent, so a cursor such as
    `2024-05-01T09:00:00+00:00` arrives intact. A templated value that renders empty is left
    out: on the first run there is no `state.cursor` yet.
    """

    def render(text: str, what: str) -> str:
        try:
            return render_template(text, context)
        except TemplateError as exc:
            raise PullError(f"The {what} template failed: {exc}") from None

    parts = urlsplit(connector.url.strip())
    params: dict[str, str] = {}
    for pair in parts.query.split("&") if parts.query else ():
        key, _, value = pair.partition("=")
        if is_template(value):
            rendered = render(value, "query")
            if rendered:
                params[unquote_plus(key)] = rendered
        else:
            params[unquote_plus(key)] = unquote_plus(value)
    base = render(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), "URL")
    headers = {
        name: render(value, f"{name} header") for name, value in connector.header_dict().items()
    }
    body = None
    if connector.body:
        body = render(connector.body, "body").encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    return PageRequest(connector.method or "GET", base, params, headers, body)


# --- Reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    base_seconds: float
    max_wait_seconds: float

    @classmethod
    def for_runs(cls) -> RetryPolicy:
        return cls(
            attempts=getattr(settings, "PULL_MAX_ATTEMPTS", 5),
            base_seconds=getattr(settings, "PULL_RETRY_BASE_SECONDS", 2.0),
            max_wait_seconds=getattr(settings, "PULL_MAX_RETRY_WAIT_SECONDS", 120.0),
        )

    @classmethod
    def for_samples(cls) -> RetryPolicy:
        # Someone is waiting on the screen: one quick retry at most.
        runs = cls.for_runs()
        return cls(
            attempts=min(2, runs.attempts), base_seconds=runs.base_seconds, max_wait_seconds=5.0
        )

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gave one, else about twice the last wait, with jitter."""
        if retry_after is None:
            retry_after = self.base_seconds * 2 ** (attempt - 1) * random.uniform(0.75, 1.25)
        return min(retry_after, self.max_wait_seconds)


def fetch(
    connector: Connector, request: PageRequest, page: int, policy: RetryPolicy
) -> http.Response:
    """Send one page request, retrying connection errors, timeouts, 408, 429 and 5xx."""
    for attempt in range(1, policy.attempts + 1):
        try:
            response = auth.send_with_auth(
                connector.auth or {},
                request.method,
                request.url,
                headers=request.headers,
                body=request.body,
                params=request.params,
                timeout=connector.timeout_seconds,
                cache_key=f"connector-{connector.pk}",
            )
            http.raise_for_status(response)
            return response
        except http.TransportError as exc:
            if not exc.retryable or attempt == policy.attempts:
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise PullError(
                    f"Page {page}: {exc.message}{tries}",
                    request=request,
                    response=exc.response,
                    page=page,
                    attempts=attempt,
                ) from exc
            time.sleep(policy.wait(attempt, exc.retry_after))
    raise AssertionError("unreachable: the loop returns or raises")


def parse_page(
    response: http.Response, records_path: str, needs_document: bool
) -> tuple[list, Any]:
    """The page's records, and its JSON document when the paginator needs one."""
    if not needs_document:
        return parse_response_records(
            response.body, response.headers.get("Content-Type"), records_path
        ), None
    if not response.body.strip():
        return [], None
    try:
        document = jsontext.loads(response.body.removeprefix(b"\xef\xbb\xbf"))
    except jsontext.JSONDecodeError as exc:
        raise BodyError(
            400, f"The response is not JSON ({exc}); this pagination reads the next page from it"
        ) from None
    return extract_records(document, records_path), document


def read_pages(
    connector: Connector,
    *,
    max_pages: int | None = None,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
) -> Iterator[Page]:
    """Every page of the source, one at a time, until the pagination says it was the last.

    Stops on an empty page; raises MaxPagesReached when pages remain after `max_pages`, and
    PullError when a page repeats (the same request, or the same content as an earlier page:
    an API that ignores the paging parameter would otherwise be read until the guard).
    """
    limit = max_pages or connector.max_pages
    policy = policy or RetryPolicy.for_runs()
    paginator = paginator_for(connector.pagination)
    request: PageRequest | None = paginator.first(
        first_request(connector, template_context(connector, now))
    )
    guard = RepeatGuard()
    number = 0
    while request is not None:
        number += 1
        if number > limit:
            raise MaxPagesReached(
                f"Read {limit} pages (max_pages) and the source still has more; raise max_pages if that is expected.",
                request=request,
                page=number,
            )
        guard.check_request(request, number)
        response = fetch(connector, request, number, policy)
        try:
            records, document = parse_page(
                response, connector.records_path, paginator.needs_document
            )
        except BodyError as exc:
            raise PullError(
                f"Page {number}: {exc.message}", request=request, response=response, page=number
            ) from None
        if not records:
            yield Page(number, request, response, records, document)
            return
        guard.check_content(request, response, number)
        page = Page(number, request, response, records, document)
        yield page
        request = paginator.next(page)


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
            "pipelines.tasks.pull_source", connector.pk, Run.Trigger.MANUAL, run_id=run.pk
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
    try:
        reader = RunReader(connector, run)
        reader.read()
    except Exception as exc:
        if not isinstance(exc, PullError):
            # Our own failure (database, mapping): recorded like the source's, and logged for us.
            logger.exception("source=%s run=%s failed", connector.pk, run.pk)
            exc = PullError(f"{type(exc).__name__}: {exc}", page=reader.pages + 1 if reader else 0)
        close_run(run, error=exc.message, detail=exc.detail(connector.secret_header_names()))
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


class RunReader:
    """The pages of one run, each committed with its records before the next is read."""

    def __init__(self, connector: Connector, run: Run):
        self.connector = connector
        self.run = run
        self.validator = connector.schema.compile()
        self.pipelines = list(Pipeline.objects.enabled_for(connector.pk))
        self.lease = lease_seconds(connector)
        self.renewed_at = time.monotonic()
        self.pages = self.received = self.duplicates = 0
        self.cursor_before = (connector.state or {}).get("cursor")
        self.highest: Any = None

    def read(self) -> None:
        for page in read_pages(self.connector):
            if page.records:
                self.store(page)

    def store(self, page: Page) -> None:
        good, indices, bad = check_records(self.validator, page.records, self.received)
        new_keys: list[SeenKey] = []
        if self.connector.primary_key and good:
            # Read before the transaction: a source has one run at a time (its PullLock).
            good, indices, new_keys = self.drop_seen(good, indices)
        # Mapped and encoded before the transaction too, which then only writes.
        prepared = prepare_all(self.connector.pk, good, indices, self.pipelines)
        with transaction.atomic():
            SeenKey.objects.bulk_create(new_keys, batch_size=500)
            keep_rejected(self.run, bad)
            delivered = store_all(self.run, prepared)
            Run.add(
                {"id": self.run.pk},
                pages=1,
                received=len(page.records),
                accepted=len(good),
                rejected=len(bad),
                delivered=delivered,
            )
            # Renewed when a quarter of the lease is used, not on every page: one query less per page.
            if time.monotonic() - self.renewed_at > self.lease / 4:
                if not PullLock.renew(self.run, self.lease):
                    raise PullError(
                        "Another run took over this source (this run's lease ran out).",
                        page=page.number,
                    )
                self.renewed_at = time.monotonic()
        self.pages += 1
        self.received += len(page.records)
        if self.connector.cursor_field:
            for record in page.records:
                self.highest = highest(self.highest, get_path(record, self.connector.cursor_field))

    def drop_seen(
        self, records: list[dict], indices: list[int]
    ) -> tuple[list[dict], list[int], list[SeenKey]]:
        """Leave out records passed on before (this run or an earlier one); the rest, their
        indices, and the keys to remember when the page commits."""
        keys = [self.seen_key(record) for record in records]
        seen = set(
            SeenKey.objects.filter(
                connector=self.connector, key_hash__in=[k for k in keys if k]
            ).values_list("key_hash", flat=True)
        )
        kept, kept_indices, new = [], [], []
        for record, index, key in zip(records, indices, keys, strict=True):
            if key and key in seen:
                self.duplicates += 1
                continue
            if key:
                seen.add(key)
                new.append(SeenKey(connector=self.connector, key_hash=key))
            kept.append(record)
            kept_indices.append(index)
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
        cursor = highest(self.cursor_before, self.highest)
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


# --- Test read ----------------------------------------------------------------------------


def read_sample(connector: Connector, pages: int = 3) -> dict:
    """Up to `pages` pages read without storing anything (no run, no cursor, no records kept).

    The requests made (secrets masked), the records found and a schema inferred from them,
    which the builder offers to adopt. A failure is part of the answer, not an exception.
    """
    pages = max(1, min(pages, SAMPLE_MAX_PAGES))
    secret = connector.secret_header_names()
    requests_made, records = [], []
    result: dict[str, Any] = {"ok": True, "more": False}
    try:
        for page in read_pages(connector, max_pages=pages, policy=RetryPolicy.for_samples()):
            requests_made.append(
                {
                    **page.request.describe(secret),
                    "response": describe_response(page.response),
                    "records": len(page.records),
                }
            )
            records.extend(page.records)
    except MaxPagesReached:
        result["more"] = True
    except PullError as exc:
        result.update(ok=False, error=exc.message, detail=exc.detail(secret))
        if exc.request is not None and exc.response is not None:
            requests_made.append(
                {**exc.request.describe(secret), "response": describe_response(exc.response)}
            )
    result.update(
        auth=(connector.auth or {}).get("type", "none"),
        requests=requests_made,
        record_count=len(records),
        records=records[:SAMPLE_MAX_RECORDS],
        schema=[spec.to_dict() for spec in infer_schema(records)],
    )
    return result


def request_sample(connector: Connector, pages: int = 3, wait_seconds: float = 60) -> dict | None:
    """A test read done by a worker (outbound calls never run in a web request); None if none answered."""
    from django_q.tasks import async_task, result

    task_id = async_task("pipelines.tasks.sample_source", connector.pk, pages)
    answer = result(task_id, wait=int(wait_seconds * 1000))
    if answer is None:
        return None
    if not isinstance(answer, dict):
        # django-q stores a failed task's traceback text as its result.
        return {
            "ok": False,
            "error": "The test read failed inside the worker.",
            "requests": [],
            "records": [],
        }
    return answer
