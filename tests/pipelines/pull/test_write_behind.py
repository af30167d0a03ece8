"""On SQLite a run writes each page in a thread of its own while it prepares the next: still
one transaction per page, in order, counts exact, a failure stops the run at the page that
failed. (On PostgreSQL it writes in line; the same tests hold.)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from werkzeug import Request

from pipelines.pull.pagination import Page
from pipelines.pull.runs import RunReader, pull
from pipelines.pull.writing import WriteBehind, can_write_behind, written_behind
from pipelines.runs.models import Run
from tests.pipelines.pull.source_helpers import json_response, mailbox_ids, source_into_mailbox
from tests.pipelines.pull.test_crash import CREATE_TRIGGER, DROP_TRIGGER, paged_by_cursor, run_sql

PAGINATION = {"type": "page", "size": 2, "size_param": ""}


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


# --- WriteBehind on its own -----------------------------------------------------------------


def test_it_writes_every_item_in_order_in_a_thread_of_its_own():
    written = []
    with written_behind(
        lambda item: written.append((item, threading.current_thread().name)), behind=True
    ) as write:
        for item in range(5):
            write(item)
    assert written == [(item, "pull-write-behind") for item in range(5)]


def test_in_line_it_writes_in_the_callers_thread():
    written = []
    with written_behind(
        lambda item: written.append(threading.current_thread().name), behind=False
    ) as write:
        write(1)
    assert written == [threading.current_thread().name]


def test_a_failed_write_is_raised_to_the_caller_and_nothing_after_it_is_written():
    written = []

    def write(item):
        if item == 2:
            raise ValueError("disk full")
        written.append(item)

    writer = WriteBehind(write)
    with pytest.raises(ValueError, match="disk full"):
        for item in range(10):
            writer.put(item)
        writer.finish()
    writer.stop()
    assert written == [0, 1]


def test_when_the_caller_fails_what_it_handed_over_is_still_written():
    written = []
    with pytest.raises(KeyError), written_behind(written.append, behind=True) as write:
        write(1)
        write(2)
        raise KeyError("page 3")
    assert written == [1, 2]
    assert not [t for t in threading.enumerate() if t.name == "pull-write-behind"]


def test_a_failed_write_wins_over_the_callers_later_error():
    def write(item):
        raise ValueError(f"item {item}")

    with pytest.raises(ValueError, match="item 1"), written_behind(write, behind=True) as put:
        put(1)
        raise KeyError("later")


def test_it_writes_behind_on_sqlite_outside_a_transaction_of_the_callers(transactional_db):
    assert can_write_behind() == (connection.vendor == "sqlite")
    with transaction.atomic():
        assert not can_write_behind()


# --- in a run -------------------------------------------------------------------------------


@pytest.fixture
def connection_threads():
    names = []

    def note(**kwargs):
        names.append(threading.current_thread().name)

    connection_created.connect(note)
    yield names
    connection_created.disconnect(note)


def pages_of_two(records):
    def handler(request: Request):
        page = int(request.args["page"])
        return json_response(records[(page - 1) * 2 : page * 2])

    return handler


@pytest.mark.django_db(transaction=True)
def test_a_run_writes_its_pages_behind_in_order(httpserver, connection_threads):
    records = [{"id": i, "name": f"n{i}"} for i in range(1, 8)]
    httpserver.expect_request("/items").respond_with_handler(pages_of_two(records))
    source, box = source_into_mailbox(httpserver.url_for("/items"), pagination=PAGINATION)
    run = pull(source)
    assert (run.status, run.pages, run.received, run.accepted, run.delivered) == (
        "succeeded",
        4,
        7,
        7,
        7,
    )
    assert mailbox_ids(box) == [1, 2, 3, 4, 5, 6, 7]
    assert ("pull-write-behind" in connection_threads) == (connection.vendor == "sqlite")


@pytest.fixture
def failing_mailbox_writes(transactional_db):
    run_sql(CREATE_TRIGGER)
    yield
    run_sql(DROP_TRIGGER)


def test_a_page_that_fails_behind_stops_the_run_there(httpserver, failing_mailbox_writes):
    httpserver.expect_request("/orders").respond_with_handler(paged_by_cursor)
    source, box = source_into_mailbox(
        httpserver.url_for("/orders") + "?since={{ state.cursor }}",
        pagination=PAGINATION,
        cursor_field="updated_at",
    )
    crashed = pull(source)
    assert crashed.status == "failed"
    assert "disk full" in crashed.error
    assert crashed.detail["page"] == 2
    # Page 3 may have been prepared meanwhile: it is neither stored nor counted.
    assert (crashed.pages, crashed.received, crashed.accepted) == (1, 2, 2)
    assert mailbox_ids(box) == [1, 2]
    source.refresh_from_db()
    assert source.state == {}


@pytest.mark.django_db(transaction=True)
def test_a_key_on_a_page_not_yet_committed_is_still_a_duplicate(httpserver):
    httpserver.expect_request("/items").respond_with_json([])
    source, _ = source_into_mailbox(httpserver.url_for("/items"), primary_key="id")
    run = Run.objects.create(source=source)
    reader = RunReader(source, run)
    first = reader.prepare(Page(1, None, None, [{"id": 1}, {"id": 2}], None))
    # Page 1 is still being written (not committed) when page 2 is prepared.
    second = reader.prepare(Page(2, None, None, [{"id": 2}, {"id": 3}], None))
    assert (first.accepted, second.accepted, reader.duplicates) == (2, 1, 1)
    assert second.new_keys == [reader.seen_key({"id": 3})]


@pytest.mark.django_db(transaction=True)
def test_duplicates_across_pages_written_behind_are_stored_once(httpserver):
    # Each page repeats the last record of the page before.
    def overlapping(request: Request):
        page = int(request.args["page"])
        return json_response([{"id": page}, {"id": page + 1}] if page <= 10 else [])

    httpserver.expect_request("/items").respond_with_handler(overlapping)
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), pagination=PAGINATION, primary_key="id"
    )
    run = pull(source)
    assert run.status == "succeeded", run.error
    assert mailbox_ids(box) == list(range(1, 12))
    assert (run.received, run.accepted, run.detail["duplicates"]) == (20, 11, 9)
