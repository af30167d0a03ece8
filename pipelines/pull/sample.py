"""The builder's test read of an HTTP source: a few pages, nothing stored."""

from __future__ import annotations

from typing import Any

from connectors import http
from connectors.models import Connector
from connectors.redaction import Redactor
from connectors.schema import infer_schema
from pipelines.pull.pagination import (
    MaxPagesReached,
    PullError,
    describe_response,
)
from pipelines.pull.reading import RetryPolicy, read_pages

# What a test read returns at most, to keep the answer small for the browser.
SAMPLE_MAX_RECORDS = 500
SAMPLE_MAX_PAGES = 10
# Every request of a test read ends within this many seconds of its start, whatever the
# source's timeout_seconds (up to 300, per attempt and page): before the page waiting on it
# gives up (request_sample), and before a few clicks on a slow source hold every worker.
SAMPLE_SECONDS = 50

# --- Test read ----------------------------------------------------------------------------


def read_sample(connector: Connector, pages: int = 3) -> dict:
    """Up to `pages` pages read without storing anything (no run, no cursor, no records kept).

    The requests made (secrets masked), the records found and a schema inferred from them,
    which the builder offers to adopt. A failure is part of the answer, not an exception.
    """
    pages = max(1, min(pages, SAMPLE_MAX_PAGES))
    secret = connector.secret_header_names()
    redactor = Redactor.for_connector(connector)
    requests_made, records = [], []
    result: dict[str, Any] = {"ok": True, "more": False}
    try:
        with http.budget(SAMPLE_SECONDS):
            for page in read_pages(
                connector, max_pages=pages, policy=RetryPolicy.for_samples(), redactor=redactor
            ):
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
    # Shown on the page, and kept by django-q as the task's result.
    return redactor.redact_data(result)


def request_sample(connector: Connector, pages: int = 3, wait_seconds: float = 60) -> dict | None:
    """A test read done by a worker (outbound calls never run in a web request); None if none answered."""
    from django_q.tasks import async_task, result

    task_id = async_task("pipelines.pull.tasks.sample_source", connector.pk, pages)
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
