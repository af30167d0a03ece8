""" "Send test request" for an HTTP destination: one real request, sent by a worker, shown to people.

Outbound HTTP never runs inside a web request (a slow API would hold a server thread, and the
SSRF guard lives with the workers' sends), so the page queues the request and waits briefly
for the worker's answer, as the HTTP source "test read" does.
"""

from __future__ import annotations

import uuid

from connectors import http
from connectors.models import Connector
from connectors.outbound import RenderError, render_request
from connectors.redaction import Redactor

EXCERPT_BYTES = 4096
# The request ends within this many seconds, whatever the destination's timeout_seconds (up
# to 300): before the page waiting on it gives up (request_send_sample), and before a few
# clicks on a silent destination hold every worker.
SAMPLE_SECONDS = 40


def send_sample(connector_id: int, record: dict) -> dict:
    """Render the request `record` would make, send it once, and describe both (secrets masked)."""
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return {"ok": False, "error": "This connector no longer exists."}
    # Shown on the page, and kept by django-q as the task's result.
    return Redactor.for_connector(connector).redact_data(_send_sample(connector, record))


def _send_sample(connector: Connector, record: dict) -> dict:
    clean, errors = connector.schema.compile().validate(record)
    if errors:
        return {"ok": False, "error": "The record does not fit the schema.", "errors": errors}
    try:
        request = render_request(
            connector, [clean], idempotency_key=f"test-{uuid.uuid4().hex[:12]}"
        )
    except RenderError as exc:
        return {"ok": False, "error": f"The request cannot be built: {exc}."}
    shown = request.masked()
    try:
        with http.budget(SAMPLE_SECONDS):
            response = request.send(
                timeout=connector.timeout_seconds, cache_key=f"connector-{connector.pk}"
            )
    except http.TransportError as exc:
        return {"ok": False, "error": exc.message, "request": shown}
    return {
        "ok": response.ok,
        "request": shown,
        "response": {
            "status": response.status,
            "elapsed_ms": round(response.elapsed_ms),
            "headers": dict(response.headers),
            "body": response.excerpt(EXCERPT_BYTES),
        },
    }


def request_send_sample(
    connector: Connector, record: dict, wait_seconds: float = 45
) -> dict | None:
    """Queue `send_sample` and wait for its answer; None when no worker answered in time."""
    from django_q.tasks import async_task, result

    task_id = async_task("connectors.sample_request.send_sample", connector.pk, record)
    answer = result(task_id, wait=int(wait_seconds * 1000))
    if answer is None:
        return None
    if not isinstance(answer, dict):
        return {"ok": False, "error": "The test request failed inside the worker."}
    return answer
