from __future__ import annotations

import socket
import time

import pytest
from werkzeug import Request

from connectors.secrets import MASK
from pipelines.pull.runs import pull
from tests.pipelines.pull.source_helpers import (
    items,
    json_response,
    mailbox_ids,
    source_into_mailbox,
)


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0
    settings.PULL_MAX_ATTEMPTS = 3


def answers(*responses):
    """A handler giving each response in turn, then the last one again."""
    queue = list(responses)

    def handler(request: Request):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def test_a_5xx_is_retried(db, httpserver):
    httpserver.expect_request("/items").respond_with_handler(
        answers(json_response({"error": "oops"}, status=503), json_response(items(2)))
    )
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    run = pull(source)
    assert run.status == "succeeded"
    assert len(httpserver.log) == 2
    assert mailbox_ids(box) == [1, 2]


def test_a_429_waits_as_retry_after_says(db, httpserver):
    httpserver.expect_request("/items").respond_with_handler(
        answers(
            json_response({}, status=429, headers={"Retry-After": "1"}), json_response(items(1))
        )
    )
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    started = time.monotonic()
    run = pull(source)
    assert time.monotonic() - started >= 1.0
    assert run.status == "succeeded"


def test_a_timeout_is_retried(db, httpserver):
    def slow_then_fast(request: Request):
        if len(httpserver.log) == 0:
            time.sleep(1.5)
        return json_response(items(1))

    httpserver.expect_request("/items").respond_with_handler(slow_then_fast)
    source, box = source_into_mailbox(httpserver.url_for("/items"), timeout_seconds=1)
    run = pull(source)
    assert run.status == "succeeded"
    assert mailbox_ids(box) == [1]


def test_a_connection_error_is_retried_then_recorded(db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source, _ = source_into_mailbox(f"http://127.0.0.1:{port}/items")
    run = pull(source)
    assert run.status == "failed"
    assert "connection failed" in run.error
    assert "after 3 attempts" in run.error
    assert run.detail["attempts"] == 3
    assert "response" not in run.detail


def test_a_4xx_fails_at_once(db, httpserver):
    httpserver.expect_request("/items").respond_with_json({"error": "no such list"}, status=404)
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    run = pull(source)
    assert run.status == "failed"
    assert run.error == "Page 1: HTTP 404 Not Found"
    assert len(httpserver.log) == 1


def test_a_failed_run_keeps_earlier_pages_records_but_not_the_cursor(db, httpserver):
    def page(request: Request):
        if request.args["page"] == "1":
            return json_response([{"id": 1, "updated_at": "2024-05-01T00:00:00Z"}])
        return json_response({"error": "database is on fire"}, status=500)

    httpserver.expect_request("/items").respond_with_handler(page)
    source, box = source_into_mailbox(
        httpserver.url_for("/items") + "?key={{ state.cursor }}",
        pagination={"type": "page", "size": 1},
        cursor_field="updated_at",
        state={"cursor": "2024-01-01T00:00:00Z"},
    )
    source.replace_headers([{"name": "Authorization", "value": "Token abc", "secret": True}])
    run = pull(source)
    assert run.status == "failed"
    assert run.error == "Page 2: HTTP 500 Internal Server Error (after 3 attempts)"
    assert run.finished_at is not None
    assert (run.pages, run.received, run.accepted) == (1, 1, 1)
    assert mailbox_ids(box) == [1]
    assert run.detail["page"] == 2
    assert run.detail["request"]["method"] == "GET"
    assert "page=2" in run.detail["request"]["url"]
    assert run.detail["request"]["headers"]["Authorization"] == MASK
    assert run.detail["response"]["status"] == 500
    assert "database is on fire" in run.detail["response"]["excerpt"]
    source.refresh_from_db()
    assert source.state == {"cursor": "2024-01-01T00:00:00Z"}


def test_a_retry_after_of_zero_still_backs_off(db, httpserver, settings):
    # Retry-After asks for at least that long: 0 is no reason to spend every attempt at once.
    settings.PULL_RETRY_BASE_SECONDS = 0.2
    httpserver.expect_request("/items").respond_with_handler(
        answers(
            json_response({}, status=429, headers={"Retry-After": "0"}),
            json_response({}, status=429, headers={"Retry-After": "0"}),
            json_response(items(1)),
        )
    )
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    started = time.monotonic()
    run = pull(source)
    assert run.status == "succeeded"
    assert time.monotonic() - started >= 0.15 + 0.3  # about 0.2 s, then 0.4 s, less jitter
