from __future__ import annotations

import pytest

from pipelines.pull.runs import pull
from pipelines.runs.models import RecordError
from tests.pipelines.pull.source_helpers import items, mailbox_ids, source_into_mailbox


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def test_without_a_path_the_response_itself_is_the_list(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(items(2))
    source, box = source_into_mailbox(httpserver.url_for("/items"), records_path="")
    pull(source)
    assert mailbox_ids(box) == [1, 2]


def test_a_dotted_path_finds_nested_records(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(
        {"data": {"line-items": items(3)}, "total": 3}
    )
    source, box = source_into_mailbox(httpserver.url_for("/items"), records_path="data.line-items")
    pull(source)
    assert mailbox_ids(box) == [1, 2, 3]


def test_a_jmespath_expression_can_filter_records(db, httpserver):
    records = [{"id": 1, "active": True}, {"id": 2, "active": False}, {"id": 3, "active": True}]
    httpserver.expect_request("/items").respond_with_json({"result": {"rows": records}})
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), records_path="result.rows[?active]"
    )
    pull(source)
    assert mailbox_ids(box) == [1, 3]


def test_an_object_at_the_path_is_one_record(db, httpserver):
    httpserver.expect_request("/me").respond_with_json({"user": {"id": 7, "name": "Ada"}})
    source, box = source_into_mailbox(httpserver.url_for("/me"), records_path="user")
    pull(source)
    assert mailbox_ids(box) == [7]


def test_it_reads_ndjson_responses(db, httpserver):
    body = '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n'
    httpserver.expect_request("/items").respond_with_data(body, content_type="application/x-ndjson")
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    pull(source)
    assert mailbox_ids(box) == [1, 2]


def test_csv_responses_become_records_by_header(db, httpserver):
    body = 'id,name\r\n1,Ada\r\n2,"Lovelace, Ada"\r\n'
    httpserver.expect_request("/items.csv").respond_with_data(body, content_type="text/csv")
    source, box = source_into_mailbox(httpserver.url_for("/items.csv"))
    run = pull(source)
    assert (run.status, run.accepted) == ("succeeded", 2)
    assert mailbox_ids(box) == [1, 2]  # "1" became the integer the schema asks for


def test_records_that_break_the_source_schema_are_kept_with_the_run(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(
        [{"id": 1}, {"id": "one"}, {"name": "no id"}]
    )
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    run = pull(source)
    assert (run.status, run.received, run.accepted, run.rejected) == ("partial", 3, 1, 2)
    assert mailbox_ids(box) == [1]
    errors = RecordError.objects.filter(run=run, pipeline=None).order_by("index")
    assert [(e.index, e.record, e.errors[0]["field"]) for e in errors] == [
        (1, {"id": "one"}, "id"),
        (2, {"name": "no id"}, "id"),
    ]


def test_a_path_that_is_not_in_the_response_fails_the_run_with_the_response(db, httpserver):
    httpserver.expect_request("/items").respond_with_json({"results": items(2)})
    source, box = source_into_mailbox(httpserver.url_for("/items"), records_path="data")
    run = pull(source)
    assert run.status == "failed"
    assert "records_path 'data' not found" in run.error
    assert '"results"' in run.detail["response"]["excerpt"]
    assert mailbox_ids(box) == []


def test_a_response_that_is_not_a_list_of_records_fails_the_run(db, httpserver):
    httpserver.expect_request("/items").respond_with_json({"data": "nothing here"})
    source, _ = source_into_mailbox(httpserver.url_for("/items"), records_path="data")
    run = pull(source)
    assert run.status == "failed"
    assert "not a list of records" in run.error


def test_an_html_error_page_fails_the_run(db, httpserver):
    httpserver.expect_request("/items").respond_with_data(
        "<html>Maintenance</html>", content_type="text/html"
    )
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    run = pull(source)
    assert run.status == "failed"
    assert "text/html" in run.error
    assert "Maintenance" in run.detail["response"]["excerpt"]
