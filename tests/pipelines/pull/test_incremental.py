from __future__ import annotations

import orjson
import pytest
import time_machine
from werkzeug import Request

from connectors.models import Connector
from pipelines.pull.runs import pull
from tests.pipelines.pull.source_helpers import (
    json_response,
    mailbox_ids,
    queries,
    source_into_mailbox,
)

ORDERS = [
    {"id": 1, "name": "a", "updated_at": "2024-05-01T09:00:00+00:00"},
    {"id": 2, "name": "b", "updated_at": "2024-05-03T09:00:00+00:00"},
    {"id": 3, "name": "c", "updated_at": "2024-05-02T09:00:00+00:00"},
]


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def updated_since(records):
    """An API that filters on ?updated_since= as real ones do (inclusive)."""

    def handler(request: Request):
        since = request.args.get("updated_since", "")
        return json_response([r for r in records if r["updated_at"] >= since])

    return handler


def test_the_cursor_carries_over_to_the_next_run(db, httpserver):
    records = list(ORDERS)
    httpserver.expect_request("/orders").respond_with_handler(updated_since(records))
    url = httpserver.url_for("/orders") + "?updated_since={{ state.cursor }}&sort=updated_at"
    source, box = source_into_mailbox(url, cursor_field="updated_at")

    first = pull(source)
    source.refresh_from_db()
    assert source.state["cursor"] == "2024-05-03T09:00:00+00:00"
    assert first.detail["cursor"] == {"before": None, "after": "2024-05-03T09:00:00+00:00"}

    records.append({"id": 4, "name": "d", "updated_at": "2024-05-04T10:00:00+00:00"})
    pull(source)
    # No cursor yet: the empty value is left out; then the "+" of the offset arrives intact.
    assert queries(httpserver) == [
        {"sort": "updated_at"},
        {"updated_since": "2024-05-03T09:00:00+00:00", "sort": "updated_at"},
    ]
    assert mailbox_ids(box) == [1, 2, 3, 2, 4]  # the inclusive API sends the boundary record again
    source.refresh_from_db()
    assert source.state["cursor"] == "2024-05-04T10:00:00+00:00"


def test_numeric_cursors_compare_as_numbers(db, httpserver):
    httpserver.expect_request("/events").respond_with_json(
        [{"id": 9, "seq": 9}, {"id": 10, "seq": 10}]
    )
    source, _ = source_into_mailbox(httpserver.url_for("/events"), cursor_field="seq")
    pull(source)
    source.refresh_from_db()
    assert source.state["cursor"] == 10


def test_the_cursor_never_moves_back(db, httpserver):
    httpserver.expect_request("/orders").respond_with_json(ORDERS[:1])
    source, _ = source_into_mailbox(
        httpserver.url_for("/orders"),
        cursor_field="updated_at",
        state={"cursor": "2024-06-01T00:00:00Z"},
    )
    pull(source)
    source.refresh_from_db()
    assert source.state["cursor"] == "2024-06-01T00:00:00Z"


def test_an_empty_read_keeps_the_cursor(db, httpserver):
    httpserver.expect_request("/orders").respond_with_json([])
    source, _ = source_into_mailbox(
        httpserver.url_for("/orders"),
        cursor_field="updated_at",
        state={"cursor": "2024-05-01T00:00:00Z", "x": 1},
    )
    run = pull(source)
    assert run.status == "succeeded"
    source.refresh_from_db()
    assert source.state == {"cursor": "2024-05-01T00:00:00Z", "x": 1}


def test_a_primary_key_drops_records_already_passed_on(db, httpserver):
    records = list(ORDERS)
    httpserver.expect_request("/orders").respond_with_handler(updated_since(records))
    url = httpserver.url_for("/orders") + "?updated_since={{ state.cursor }}"
    source, box = source_into_mailbox(url, cursor_field="updated_at", primary_key="id")
    pull(source)
    records.append({"id": 4, "name": "d", "updated_at": "2024-05-04T10:00:00+00:00"})
    records[0] = {"id": 1, "name": "a, edited", "updated_at": "2024-05-05T10:00:00+00:00"}
    second = pull(source)
    # Order 2 (the boundary, unchanged) is dropped; order 1 changed, so it counts as new.
    assert mailbox_ids(box) == [1, 2, 3, 1, 4]
    assert second.detail["duplicates"] == 1
    assert (second.received, second.accepted) == (3, 2)


def test_duplicates_within_one_read_are_dropped_too(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(
        [{"id": 1}, {"id": 1}, {"id": 2}, {"name": "no key"}]
    )
    source, box = source_into_mailbox(httpserver.url_for("/items"), primary_key="id", fields=[])
    run = pull(source)
    assert mailbox_ids(box)[:2] == [1, 2]
    assert run.detail["duplicates"] == 1


def test_state_now_and_variables_fill_the_url_headers_and_body(db, httpserver):
    httpserver.expect_request("/v2/acme/search", method="POST").respond_with_json(
        {"hits": ORDERS[:1]}
    )
    source, box = source_into_mailbox(
        httpserver.url_for("/v2/{{ account }}/search") + "?until={{ now }}",
        method="POST",
        records_path="hits",
        variables={"account": "acme", "region": "eu"},
        state={"cursor": "2024-04-01T00:00:00Z"},
        body='{"since": "{{ state.cursor }}", "region": "{{ region }}"}',
    )
    source.replace_headers([{"name": "X-Region", "value": "{{ region | upper }}"}])
    with time_machine.travel("2024-05-06 07:08:09+00:00", tick=False):
        pull(source)
    request, _ = httpserver.log[0]
    assert request.args["until"] == "2024-05-06T07:08:09Z"
    assert request.headers["X-Region"] == "EU"
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.data) == {"since": "2024-04-01T00:00:00Z", "region": "eu"}
    assert mailbox_ids(box) == [1]


def test_a_template_that_fails_fails_the_run(db, httpserver):
    source, _ = source_into_mailbox(httpserver.url_for("/items") + "?n={{ 1 / 0 }}")
    run = pull(source)
    assert run.status == "failed"
    assert "query template failed" in run.error
    assert Connector.objects.get(pk=source.pk).state == {}
