from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from werkzeug import Request
from werkzeug import Response as WerkzeugResponse

from connectors import http


@pytest.fixture(autouse=True)
def allow_private(settings):
    # The peers of these tests run on 127.0.0.1.
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_returns_status_headers_and_body(httpserver):
    httpserver.expect_request(
        "/orders", method="POST", data=b'{"id": 1}', headers={"X-Trace": "abc"}
    ).respond_with_json({"ok": True}, status=201, headers={"X-Reply": "yes"})

    response = http.send(
        "post",
        httpserver.url_for("/orders"),
        headers={"X-Trace": "abc"},
        body=b'{"id": 1}',
    )

    assert response.status == 201
    assert response.ok
    assert response.headers["x-reply"] == "yes"
    assert response.json() == {"ok": True}
    assert response.url == httpserver.url_for("/orders")
    assert response.elapsed_ms > 0


def test_it_sends_query_parameters(httpserver):
    httpserver.expect_request("/items", query_string={"page": "2"}).respond_with_data("page two")

    response = http.send("GET", httpserver.url_for("/items"), params={"page": 2})

    assert response.body == b"page two"
    assert response.url.endswith("/items?page=2")


def test_it_does_not_follow_redirects(httpserver):
    httpserver.expect_request("/old").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data("should not be reached")

    response = http.send("GET", httpserver.url_for("/old"))

    assert response.status == 302
    assert not response.ok
    assert http.classify(response) == "fail"
    assert [request.path for request, _ in httpserver.log] == ["/old"]
    with pytest.raises(http.TransportError, match="redirects are not followed") as caught:
        http.raise_for_status(response)
    assert caught.value.retryable is False


def test_it_returns_error_statuses_without_raising(httpserver):
    httpserver.expect_request("/busy").respond_with_data(
        "try later", status=503, headers={"Retry-After": "7"}
    )

    response = http.send("GET", httpserver.url_for("/busy"))

    assert response.status == 503
    with pytest.raises(http.TransportError) as caught:
        http.raise_for_status(response)
    error = caught.value
    assert error.retryable is True
    assert error.status == 503
    assert error.retry_after == 7
    assert error.response is response
    assert error.message == "HTTP 503 Service Unavailable"


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "ok"),
        (204, "ok"),
        (301, "fail"),
        (304, "fail"),
        (400, "fail"),
        (401, "fail"),
        (404, "fail"),
        (422, "fail"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (599, "retry"),
    ],
)
def test_it_classifies_statuses(status, verdict):
    response = http.Response(status=status, headers={}, body=b"", elapsed_ms=1.0, url="http://x/")

    assert http.classify(response) == verdict


def test_it_raises_nothing_for_success():
    response = http.Response(status=200, headers={}, body=b"", elapsed_ms=1.0, url="http://x/")

    assert http.raise_for_status(response) is None


def test_it_times_out_slow_servers(httpserver):
    def slow(request: Request) -> WerkzeugResponse:
        time.sleep(0.5)
        return WerkzeugResponse("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)

    with pytest.raises(http.TransportError, match="timed out") as caught:
        http.send("GET", httpserver.url_for("/slow"), timeout=0.1)
    assert caught.value.retryable is True


def test_it_reports_refused_connections_as_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(http.TransportError, match="connection failed") as caught:
        http.send("GET", f"http://127.0.0.1:{closed_port}/")
    assert caught.value.retryable is True


def test_it_caps_the_response_body(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)

    with pytest.raises(http.TransportError, match="larger than 1000 bytes") as caught:
        http.send("GET", httpserver.url_for("/big"), max_bytes=1000)
    assert caught.value.retryable is False

    assert http.send("GET", httpserver.url_for("/big"), max_bytes=5000).body == b"x" * 5000


class ClientPortHandler(BaseHTTPRequestHandler):
    """Answers with the client's port; keeps connections alive (werkzeug always closes them)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = str(self.client_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_it_reuses_connections():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ClientPortHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        first = http.send("GET", url)
        second = http.send("GET", url)
    finally:
        server.shutdown()
        server.server_close()

    assert first.body == second.body


def test_it_keeps_no_cookies_between_requests(httpserver):
    httpserver.expect_request("/login").respond_with_data(
        "", headers={"Set-Cookie": "session=alice; Path=/"}
    )
    httpserver.expect_request("/next").respond_with_data("")

    http.send("GET", httpserver.url_for("/login"))
    http.send("GET", httpserver.url_for("/next"))

    second_request = httpserver.log[1][0]
    assert "Cookie" not in second_request.headers


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "example.com/path", "http:///no-host", "http://host:99999/"]
)
def test_it_refuses_urls_that_are_not_http(url):
    with pytest.raises(http.InvalidDestination) as caught:
        http.send("GET", url)
    assert isinstance(caught.value, ValueError)
    assert caught.value.retryable is False


def test_it_logs_one_line_per_request_without_the_query(httpserver, caplog):
    httpserver.expect_request("/ping").respond_with_data("pong")

    with caplog.at_level(logging.DEBUG, logger="connectors.http"):
        http.send("GET", httpserver.url_for("/ping"), params={"api_key": "s3cret"})

    [record] = [r for r in caplog.records if r.name == "connectors.http"]
    line = record.getMessage()
    assert line.startswith("method=GET host=localhost status=200 ms=")
    assert "s3cret" not in line


def test_it_excerpts_bodies_for_people():
    response = http.Response(
        status=500,
        headers={},
        body=b"caf\xc3\xa9 \xff" + b"a" * 100,
        elapsed_ms=1.0,
        url="http://x/",
    )

    assert response.excerpt(limit=7) == "café \ufffd… [truncated, 107 bytes in all]"
    assert response.excerpt().startswith("café \ufffdaaa")
    assert "truncated" not in response.excerpt()


def test_it_reads_retry_after_in_seconds_and_as_a_date():
    def retry_after(value: str) -> float | None:
        response = http.Response(
            status=429, headers={"retry-after": value}, body=b"", elapsed_ms=1.0, url="http://x/"
        )
        return response.retry_after_seconds(cap=600)

    with time_machine.travel(datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC), tick=False):
        assert retry_after("30") == 30
        assert retry_after("Sat, 01 Mar 2025 12:02:00 GMT") == 120
        assert retry_after("Sat, 01 Mar 2025 11:00:00 GMT") == 0
        assert retry_after("86400") == 600
        assert retry_after("soon") is None
        assert retry_after("") is None


def test_it_masks_secret_headers():
    headers = {
        "authorization": "Bearer abc",
        "X-Api-Key": "k",
        "Cookie": "a=b",
        "X-Customer-Token": "t",
        "Content-Type": "application/json",
    }

    masked = http.mask_headers(headers, {"x-customer-token"})

    assert masked == {
        "authorization": "********",
        "X-Api-Key": "********",
        "Cookie": "********",
        "X-Customer-Token": "********",
        "Content-Type": "application/json",
    }
    assert headers["authorization"] == "Bearer abc"
