"""A source that drips, stalls, answers garbage or redirects: each read ends, with a clear error."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from pathlib import Path

import orjson
import pytest

from pipelines.pull import pagination, sample
from pipelines.pull.reading import read_pages
from pipelines.pull.runs import pull
from tests.hostile_peers import Peer, answer, drip, headers_then_stall, silent
from tests.pipelines.pull.source_helpers import mailbox_ids, make_source, source_into_mailbox


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0
    settings.PULL_MAX_ATTEMPTS = 2


def test_a_source_dripping_its_answer_fails_within_its_timeouts(db):
    with Peer(drip(body_length=1000, every=0.2)) as peer:
        source, _ = source_into_mailbox(peer.url("/items"), timeout_seconds=1)
        started = time.monotonic()
        run = pull(source)

    # Two attempts of one second each, and nothing else.
    assert time.monotonic() - started < 2 * 1 + 1.5
    assert run.status == "failed"
    assert run.error == (
        "Page 1: timed out: the destination took longer than 1 s to answer (after 2 attempts)"
    )


def test_a_source_that_stalls_after_its_headers_fails_within_its_timeouts(db):
    with Peer(headers_then_stall) as peer:
        source, _ = source_into_mailbox(peer.url("/items"), timeout_seconds=1)
        started = time.monotonic()
        run = pull(source)

    assert time.monotonic() - started < 2 * 1 + 1.5
    assert run.status == "failed"
    assert "took longer than 1 s" in run.error


def test_a_source_answering_garbage_fails_with_a_clear_error(db):
    with Peer(answer(200, b"\x00<html>not json", "Content-Type: application/json\r\n")) as peer:
        source, _ = source_into_mailbox(peer.url("/items"))
        run = pull(source)

    assert run.status == "failed"
    assert run.error.startswith("Page 1: Invalid JSON at line 1, column 1")
    assert run.received == 0


def test_a_source_redirecting_elsewhere_is_not_followed(db):
    with Peer(answer(200, b"[]")) as elsewhere:
        redirect = answer(302, b"", f"Location: {elsewhere.url('/items')}\r\n")
        with Peer(redirect) as peer:
            source, _ = source_into_mailbox(peer.url("/items"))
            run = pull(source)

    assert run.status == "failed"
    assert "redirects are not followed" in run.error
    assert elsewhere.exchanges == []


@pytest.mark.parametrize(
    ("status", "body", "headers", "config"),
    [
        (302, b"", "Location: /next\x00page\r\n", {}),
        (200, b"[]", "Content-Type: text/ht\x00ml\r\n", {}),
        (
            200,
            b'{"data": [{"id": 1}], "next": "http://else\\u0000where.example/items"}',
            "Content-Type: application/json\r\n",
            {"records_path": "data", "pagination": {"type": "next_url", "next_url_path": "next"}},
        ),
    ],
    ids=["location", "content-type", "next-url"],
)
def test_a_nul_character_quoted_in_the_error_is_kept_as_a_replacement_character(
    db, status, body, headers, config
):
    # PostgreSQL's text holds no NUL: writing it raw failed, and the run stayed running.
    with Peer(answer(status, body, headers)) as peer:
        source, _ = source_into_mailbox(peer.url("/items"), **config)
        run = pull(source)

    run.refresh_from_db()
    assert run.status == "failed"
    assert "\x00" not in run.error
    assert "\ufffd" in run.error


def test_a_nul_character_in_the_cursor_is_kept_as_a_replacement_character(db):
    body = b'[{"id": 1, "name": "a\\u0000b"}]'
    with Peer(answer(200, body, "Content-Type: application/json\r\n")) as peer:
        source, box = source_into_mailbox(peer.url("/items"), cursor_field="name")
        run = pull(source)

    run.refresh_from_db()
    source.refresh_from_db()
    assert run.status == "succeeded"
    assert source.state == {"cursor": "a\ufffdb"}
    assert mailbox_ids(box) == [1]


def test_a_source_sending_long_cursors_is_read_without_keeping_them(db):
    # Each page's cursor is 200 KB: the reading keeps what it needs to refuse a repeated page,
    # never the pages' requests themselves.
    pages = itertools.count(1)

    def long_cursors(peer: Peer, client, head: bytes) -> None:
        number = next(pages)
        body = orjson.dumps({"data": [{"id": number}], "next": f"{number}{'a' * 200_000}"})
        peer.answering()
        client.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )

    with Peer(long_cursors) as peer:
        source = make_source(
            peer.url("/items"),
            records_path="data",
            pagination={"type": "cursor", "param": "cursor", "cursor_path": "next"},
        )
        reading = read_pages(source)
        tracemalloc.start()
        try:
            for page in itertools.islice(reading, 20):
                del page
            kept = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, f"{Path(pagination.__file__).parent}/*")]
            )
        finally:
            tracemalloc.stop()

    assert sum(stat.size for stat in kept.statistics("filename")) < 1_000_000


def test_a_link_header_made_to_be_slow_to_parse_is_read_at_once(db):
    # 20,000 `<` and no `>`: each `<` scanned to the end took 8 s of CPU, with the GIL held
    # (a response may carry 100 such headers: hours).
    link = "Link: " + "<" * 20_000 + "\r\n"
    with Peer(answer(200, b'[{"id": 1}]', f"Content-Type: application/json\r\n{link}")) as peer:
        source, box = source_into_mailbox(peer.url("/items"), pagination={"type": "link_header"})
        started = time.monotonic()
        run = pull(source)

    assert time.monotonic() - started < 2
    assert run.status == "succeeded"
    assert mailbox_ids(box) == [1]


def test_a_test_read_infers_the_schema_of_values_made_to_be_slow_to_match_at_once(db):
    # 20,000 digits and an `x`: the number pattern tried every split of the digits (32 s).
    body = orjson.dumps([{"id": 1, "name": "1" * 20_000 + "x"}])
    with Peer(answer(200, body, "Content-Type: application/json\r\n")) as peer:
        source = make_source(peer.url("/items"))
        started = time.monotonic()
        result = sample.read_sample(source)

    assert time.monotonic() - started < 2
    assert result["ok"] is True
    assert {field["name"]: field["type"] for field in result["schema"]}["name"] == "string"


def test_a_test_read_of_a_silent_source_ends_before_the_page_waiting_on_it(db, monkeypatch):
    # The source may take 10 s per attempt; the person waiting, and the worker, get 2 s.
    monkeypatch.setattr(sample, "SAMPLE_SECONDS", 2, raising=False)
    with Peer(silent) as peer:
        source = make_source(peer.url("/items"), timeout_seconds=10)
        started = time.monotonic()
        result = sample.read_sample(source)

    assert time.monotonic() - started < 2 + 1.5
    assert result["ok"] is False
    assert result["error"] == (
        "Page 1: timed out: the destination took longer than 2 s to answer (after 2 attempts)"
    )
