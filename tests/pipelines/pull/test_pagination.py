from __future__ import annotations

import pytest
from werkzeug import Request

from pipelines.pull.runs import pull
from pipelines.runs.models import Run
from tests.pipelines.pull.source_helpers import (
    items,
    json_response,
    mailbox_ids,
    queries,
    source_into_mailbox,
)

ALL = items(250)


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def test_it_reads_one_page_without_pagination(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(items(3))
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    run = pull(source)
    assert (run.status, run.pages, run.received, run.accepted) == ("succeeded", 1, 3, 3)
    assert mailbox_ids(box) == [1, 2, 3]
    assert len(httpserver.log) == 1


def test_it_follows_page_numbers_until_a_short_page(db, httpserver):
    def page(request: Request):
        number, size = int(request.args["page"]), int(request.args["per_page"])
        return json_response(ALL[(number - 1) * size : number * size])

    httpserver.expect_request("/items").respond_with_handler(page)
    pagination = {
        "type": "page",
        "param": "page",
        "start": 1,
        "size_param": "per_page",
        "size": 100,
    }
    source, box = source_into_mailbox(httpserver.url_for("/items"), pagination=pagination)
    run = pull(source)
    assert queries(httpserver) == [
        {"page": "1", "per_page": "100"},
        {"page": "2", "per_page": "100"},
        {"page": "3", "per_page": "100"},
    ]
    assert mailbox_ids(box) == list(range(1, 251))
    assert (run.status, run.pages, run.received) == ("succeeded", 3, 250)


def test_page_numbers_start_where_configured_and_stop_on_an_empty_page(db, httpserver):
    def page(request: Request):
        number = int(request.args["p"])
        return json_response(items(200)[number * 50 : (number + 1) * 50])

    httpserver.expect_request("/items").respond_with_handler(page)
    pagination = {"type": "page", "param": "p", "start": 0, "size_param": "n", "size": 50}
    source, box = source_into_mailbox(httpserver.url_for("/items"), pagination=pagination)
    run = pull(source)
    assert [q["p"] for q in queries(httpserver)] == ["0", "1", "2", "3", "4"]
    assert len(mailbox_ids(box)) == 200
    assert run.pages == 4  # the empty fifth page ends the read and counts for nothing


def test_it_follows_offsets_until_a_short_page(db, httpserver):
    def page(request: Request):
        offset, limit = int(request.args["skip"]), int(request.args["take"])
        return json_response({"data": ALL[offset : offset + limit]})

    httpserver.expect_request("/items").respond_with_handler(page)
    pagination = {"type": "offset", "param": "skip", "limit_param": "take", "limit": 100}
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), pagination=pagination, records_path="data"
    )
    pull(source)
    assert queries(httpserver) == [
        {"skip": "0", "take": "100"},
        {"skip": "100", "take": "100"},
        {"skip": "200", "take": "100"},
    ]
    assert mailbox_ids(box) == list(range(1, 251))


def test_it_follows_a_cursor_until_it_is_null(db, httpserver):
    def page(request: Request):
        start = int(request.args.get("after", "0"))
        chunk = ALL[start : start + 100]
        following = str(start + 100) if start + 100 < len(ALL) else None
        return json_response({"items": chunk, "meta": {"next_cursor": following}})

    httpserver.expect_request("/items").respond_with_handler(page)
    pagination = {"type": "cursor", "param": "after", "cursor_path": "meta.next_cursor"}
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), pagination=pagination, records_path="items"
    )
    run = pull(source)
    assert queries(httpserver) == [{}, {"after": "100"}, {"after": "200"}]
    assert mailbox_ids(box) == list(range(1, 251))
    assert run.pages == 3


def test_a_missing_cursor_ends_the_read(db, httpserver):
    httpserver.expect_request("/items").respond_with_json({"items": items(2), "meta": {}})
    pagination = {"type": "cursor", "param": "cursor", "cursor_path": "meta.next_cursor"}
    source, _ = source_into_mailbox(
        httpserver.url_for("/items"), pagination=pagination, records_path="items"
    )
    assert pull(source).status == "succeeded"
    assert len(httpserver.log) == 1


def test_it_follows_next_urls_absolute_and_relative(db, httpserver):
    httpserver.expect_request("/items", query_string="").respond_with_json(
        {"data": items(2), "links": {"next": httpserver.url_for("/items?page=2")}}
    )
    httpserver.expect_request("/items", query_string="page=2").respond_with_json(
        {"data": items(2, start=3), "links": {"next": "/items?page=3"}}
    )
    httpserver.expect_request("/items", query_string="page=3").respond_with_json(
        {"data": items(1, start=5), "links": {"next": None}}
    )
    source, box = source_into_mailbox(
        httpserver.url_for("/items"),
        pagination={"type": "next_url", "next_url_path": "links.next"},
        records_path="data",
    )
    pull(source)
    assert mailbox_ids(box) == [1, 2, 3, 4, 5]
    assert len(httpserver.log) == 3


def test_a_next_url_on_another_host_is_refused(db, httpserver):
    elsewhere = httpserver.url_for("/items?page=2").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/items").respond_with_json(
        {"data": items(2), "links": {"next": elsewhere}}
    )
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), pagination={"type": "next_url"}, records_path="data"
    )
    run = pull(source)
    assert run.status == "failed"
    assert "another host" in run.error
    assert len(httpserver.log) == 1
    assert mailbox_ids(box) == [1, 2]


def test_a_next_url_that_is_not_a_url_fails_the_run_with_a_clear_error(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(
        {"data": items(2), "links": {"next": "http://[::1/items?page=2"}}
    )
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), pagination={"type": "next_url"}, records_path="data"
    )
    run = pull(source)
    assert run.status == "failed"
    assert "Page 1 points to a next page that is not a URL" in run.error
    assert mailbox_ids(box) == [1, 2]


def test_it_follows_the_link_header(db, httpserver):
    base = httpserver.url_for("/items")
    httpserver.expect_request("/items", query_string="").respond_with_json(
        items(2), headers={"Link": f'<{base}?page=2>; rel="next", <{base}?page=3>; rel="last"'}
    )
    httpserver.expect_request("/items", query_string="page=2").respond_with_json(
        items(2, start=3),
        headers={"Link": f'<{base}?page=1>; rel="first prev", </items?page=3>; rel=next'},
    )
    httpserver.expect_request("/items", query_string="page=3").respond_with_json(
        items(1, start=5), headers={"Link": f'<{base}?page=1>; rel="first"'}
    )
    source, box = source_into_mailbox(base, pagination={"type": "link_header"})
    pull(source)
    assert mailbox_ids(box) == [1, 2, 3, 4, 5]
    assert [q.get("page") for q in queries(httpserver)] == [None, "2", "3"]


def test_max_pages_stops_an_endless_source_with_a_clear_error(db, httpserver):
    def page(request: Request):
        number = int(request.args["page"])
        return json_response(items(10, start=number * 10))

    httpserver.expect_request("/items").respond_with_handler(page)
    pagination = {"type": "page", "size": 10}
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), pagination=pagination, max_pages=4
    )
    run = pull(source)
    assert run.status == "failed"
    assert "max_pages" in run.error
    assert len(httpserver.log) == 4
    assert run.pages == 4
    assert len(mailbox_ids(box)) == 40  # what was read is kept


def test_a_repeated_request_is_an_error(db, httpserver):
    httpserver.expect_request("/items").respond_with_handler(
        lambda request: json_response(
            {"items": items(2, start=len(httpserver.log) * 2), "next": "abc"}
        )
    )
    pagination = {"type": "cursor", "param": "cursor", "cursor_path": "next"}
    source, _ = source_into_mailbox(
        httpserver.url_for("/items"), pagination=pagination, records_path="items"
    )
    run = pull(source)
    assert run.status == "failed"
    assert "repeats the request of an earlier page" in run.error
    assert len(httpserver.log) == 2  # the first page, then cursor=abc; the third would repeat it
    assert run.detail["request"]["url"].endswith("cursor=abc")


def test_a_page_with_the_same_content_as_an_earlier_one_is_an_error(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(items(100))  # ignores ?page=
    source, box = source_into_mailbox(httpserver.url_for("/items"), pagination={"type": "page"})
    run = pull(source)
    assert run.status == "failed"
    assert "same content as an earlier page" in run.error
    assert len(httpserver.log) == 2
    assert Run.objects.get(pk=run.pk).pages == 1
    assert len(mailbox_ids(box)) == 100
