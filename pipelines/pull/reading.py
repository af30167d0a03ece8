"""Reading an HTTP source page by page, storing nothing.

`read_pages` builds each request (templates over `state`, `now` and the connector's
variables), sends it through the outbound chokepoint with retries, finds the records and
asks the paginator (`pagination.py`) for the next page; `read_ahead` does so in a thread while
the caller stores the page before. `runs.py` stores what it reads, a
page per transaction; `sample.py` is the builder's test read.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.conf import settings
from django.db import connections
from django.utils import timezone

from connectors import auth, http, jsontext
from connectors.formats import BodyError, extract_records, parse_response_records
from connectors.models import Connector
from connectors.redaction import Redactor
from connectors.secret_variables import usable
from connectors.templating import TemplateError, is_template, render_template
from pipelines.pull.pagination import (
    MaxPagesReached,
    Page,
    PageRequest,
    PullError,
    RepeatGuard,
    paginator_for,
)

logger = logging.getLogger("pipelines.pulling")


# --- The first request ----------------------------------------------------------------------


def template_context(connector: Connector, now: datetime | None = None) -> dict:
    """What URL, query, header and body templates see; `now` is fixed for the whole run."""
    moment = (now or timezone.now()).astimezone(UTC)
    return {
        **(connector.variables or {}),
        **usable(connector.secret_variables),
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
        """About twice the last wait, with jitter, or the server's Retry-After when it asks for
        longer, as deliveries do: a `Retry-After: 0` spent every attempt within milliseconds."""
        backoff = self.base_seconds * 2 ** (attempt - 1) * random.uniform(0.75, 1.25)
        return min(max(backoff, retry_after or 0.0), self.max_wait_seconds)


def fetch(
    connector: Connector,
    request: PageRequest,
    page: int,
    policy: RetryPolicy,
    redactor: Redactor | None = None,
) -> http.Response:
    """Send one page request, retrying connection errors, timeouts, 408, 429 and 5xx."""
    redactor = redactor or Redactor.for_connector(connector)
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
                redact=redactor.redact,
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
    redactor: Redactor | None = None,
) -> Iterator[Page]:
    """Every page of the source, one at a time, until the pagination says it was the last.

    Stops on an empty page; raises MaxPagesReached when pages remain after `max_pages`, and
    PullError when a page repeats (the same request, or the same content as an earlier page:
    an API that ignores the paging parameter would otherwise be read until the guard).
    """
    limit = max_pages or connector.max_pages
    policy = policy or RetryPolicy.for_runs()
    redactor = redactor or Redactor.for_connector(connector)
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
        response = fetch(connector, request, number, policy, redactor)
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


def read_ahead(pages: Iterator[Page], *, join_seconds: float = 5.0) -> Iterator[Page]:
    """`pages`, read ahead in a thread: the next page travels while this one is stored (the
    socket wait and the database's own work release the GIL). At most two pages wait beside
    the caller's: one queued, one being read.

    The first page is read in the caller's thread, with the queries building its request
    (headers); the thread only sends requests. Pages and errors arrive in order: an error
    raised reading page 5 is raised here after page 4. When the caller stops early (its
    storing failed), the thread stops after the page it is reading, which is dropped.
    """
    done = object()
    first = next(pages, done)
    if first is done:
        return
    ahead: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                ahead.put((page, None))
                if stop.is_set():
                    return
            ahead.put((done, None))
        except BaseException as exc:  # handed to the caller, raised there
            ahead.put((None, exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            # Only this thread's connections: none, unless reading came to need a query.
            connections.close_all()

    thread = threading.Thread(target=produce, name="pull-read-ahead", daemon=True)
    thread.start()
    try:
        yield first
        while True:
            page, error = ahead.get()
            if error is not None:
                raise error
            if page is done:
                return
            yield page
    finally:
        stop.set()
        # Make room for a page being put, so the thread sees `stop` and ends.
        while not ahead.empty():
            ahead.get_nowait()
        thread.join(join_seconds)
