"""A run reads the next page while it stores the one it has, in order, and stops when it fails."""

from __future__ import annotations

import threading
import time

import pytest
from werkzeug import Request

from pipelines.pull.pagination import PullError
from pipelines.pull.reading import read_ahead, read_pages
from pipelines.pull.runs import pull
from tests.pipelines.pull.source_helpers import (
    items,
    json_response,
    mailbox_ids,
    queries,
    source_into_mailbox,
)

ALL = items(6)
PAGINATION = {"type": "page", "size": 2, "size_param": "per_page"}


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def pages_of_two(request: Request):
    number = int(request.args["page"])
    return json_response(ALL[(number - 1) * 2 : number * 2])


def test_it_requests_the_next_page_while_the_caller_still_holds_this_one(db, httpserver):
    httpserver.expect_request("/items").respond_with_handler(pages_of_two)
    source, _ = source_into_mailbox(httpserver.url_for("/items"), pagination=PAGINATION)
    pages = read_ahead(read_pages(source))
    first = next(pages)
    assert [r["id"] for r in first.records] == [1, 2]
    deadline = time.monotonic() + 5
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queries(httpserver)[1]["page"] == "2"  # asked for before page 1 was let go
    assert [[r["id"] for r in page.records] for page in pages] == [[3, 4], [5, 6], []]


def test_a_run_stores_every_page_in_order(db, httpserver):
    httpserver.expect_request("/items").respond_with_handler(pages_of_two)
    source, box = source_into_mailbox(httpserver.url_for("/items"), pagination=PAGINATION)
    run = pull(source)
    assert (run.status, run.pages, run.accepted) == ("succeeded", 3, 6)
    assert mailbox_ids(box) == [1, 2, 3, 4, 5, 6]


def test_an_error_reading_a_later_page_comes_after_the_pages_before_it(db, httpserver):
    def refuse_page_3(request: Request):
        if request.args["page"] == "3":
            return json_response({"error": "gone"}, status=404)
        return pages_of_two(request)

    httpserver.expect_request("/items").respond_with_handler(refuse_page_3)
    source, box = source_into_mailbox(httpserver.url_for("/items"), pagination=PAGINATION)
    run = pull(source)
    assert (run.status, run.pages) == ("failed", 2)
    assert run.detail["page"] == 3
    assert mailbox_ids(box) == [1, 2, 3, 4]


def test_the_reading_thread_ends_when_the_caller_stops_early():
    closed = threading.Event()

    def endless():
        try:
            number = 0
            while True:
                number += 1
                yield number
        finally:
            closed.set()

    pages = read_ahead(endless())
    assert [next(pages), next(pages)] == [1, 2]
    pages.close()
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "pull-read-ahead" and t.is_alive()]


def test_an_error_of_the_first_page_is_raised_in_the_callers_thread():
    def failing():
        raise PullError("Page 1: refused", page=1)
        yield

    with pytest.raises(PullError, match="Page 1: refused"):
        next(read_ahead(failing()))
