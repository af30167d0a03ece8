from __future__ import annotations

import pytest

from connectors.formats import (
    BodyError,
    RecordsPathError,
    extract_records,
    parse_response_records,
    sniff_media_type,
    validate_records_path,
)


def path_error_of(document, records_path: str) -> RecordsPathError:
    with pytest.raises(RecordsPathError) as caught:
        extract_records(document, records_path)
    return caught.value


def test_it_takes_the_document_itself_when_the_path_is_empty():
    assert extract_records([{"id": 1}, {"id": 2}], "") == [{"id": 1}, {"id": 2}]
    assert extract_records([{"id": 1}], "   ") == [{"id": 1}]


def test_it_takes_a_single_object_as_one_record():
    assert extract_records({"id": 1}, "") == [{"id": 1}]
    assert extract_records({"data": {"id": 1}}, "data") == [{"id": 1}]


def test_it_follows_a_dotted_path():
    document = {"data": {"items": [{"id": 1}, {"id": 2}]}, "meta": {"next": None}}

    assert extract_records(document, "data.items") == [{"id": 1}, {"id": 2}]


def test_it_follows_a_dotted_path_through_keys_with_hyphens():
    document = {"order": {"line-items": [{"sku": "A-1"}]}}

    assert extract_records(document, "order.line-items") == [{"sku": "A-1"}]


def test_it_evaluates_a_jmespath_expression():
    document = {"data": [{"id": "1", "attributes": {"name": "a"}}, {"attributes": {"name": "b"}}]}

    assert extract_records(document, "data[*].attributes") == [{"name": "a"}, {"name": "b"}]


def test_it_evaluates_a_jmespath_filter():
    document = {"results": [{"kind": "order", "n": 1}, {"kind": "refund", "n": 2}]}

    assert extract_records(document, "results[?kind == 'order']") == [{"kind": "order", "n": 1}]


def test_it_reads_a_null_as_an_empty_page():
    assert extract_records({"data": {"items": None}}, "data.items") == []
    assert extract_records({"data": None}, "data.items") == []
    assert extract_records({"data": None}, "data[*].attributes") == []


def test_it_reads_an_empty_list_as_an_empty_page():
    assert extract_records({"data": []}, "data[*].attributes") == []


def test_it_refuses_a_dotted_path_that_is_not_there():
    error = path_error_of({"data": {"entries": []}}, "data.items")

    assert error.message == "records_path 'data.items' not found in the response"
    assert error.detail == {"records_path": "data.items"}


def test_it_refuses_an_expression_whose_first_keys_are_not_there():
    error = path_error_of({"items": []}, "data[*].attributes")

    assert error.message == "records_path 'data[*].attributes' not found in the response"


def test_it_refuses_a_path_that_leads_to_a_scalar():
    error = path_error_of({"data": {"count": 3}}, "data.count")

    assert (
        error.message == "records_path 'data.count' points to a JSON number, not a list of records"
    )


def test_it_refuses_a_document_that_is_a_scalar():
    assert path_error_of("ok", "").message == "The response is a JSON string, not a list of records"


def test_it_refuses_records_that_are_not_objects():
    with pytest.raises(BodyError) as caught:
        extract_records({"ids": [{"id": 1}, 2]}, "ids")

    assert caught.value.detail == {"index": 1}


def test_it_accepts_dotted_paths_and_expressions_at_save_time():
    assert validate_records_path(" data.items ") == "data.items"
    assert validate_records_path("order.line-items") == "order.line-items"
    assert validate_records_path('data[*]."first name"') == 'data[*]."first name"'
    assert validate_records_path("") == ""


def test_it_explains_an_invalid_path_at_save_time():
    with pytest.raises(
        ValueError,
        match=r"^records_path 'data\.\.items' is not valid at column 6: unexpected '\.'$",
    ):
        validate_records_path("data..items")

    with pytest.raises(ValueError, match=r"^records_path 'data\[' is incomplete$"):
        validate_records_path("data[")

    with pytest.raises(ValueError, match=r"^records_path 'data items' is not valid at column 6"):
        validate_records_path("data items")


def test_it_reads_a_json_response_through_the_records_path():
    body = b'{"data": {"items": [{"id": 1}]}, "meta": {"next_cursor": "abc"}}'

    assert parse_response_records(body, "application/json; charset=utf-8", "data.items") == [
        {"id": 1}
    ]


def test_it_reads_an_ndjson_response():
    body = b'{"id": 1}\n{"id": 2}\n'

    assert parse_response_records(body, "application/x-ndjson", "") == [{"id": 1}, {"id": 2}]


def test_it_reads_a_csv_response_by_its_header():
    body = b"id,email\r\n1,alice@example.com\r\n"

    assert parse_response_records(body, "text/csv", "") == [
        {"id": "1", "email": "alice@example.com"}
    ]


def test_it_reads_an_empty_response_as_no_records():
    assert parse_response_records(b"", "application/json", "data.items") == []


def test_it_sniffs_a_response_without_a_useful_content_type():
    assert parse_response_records(b'{"data": [{"id": 1}]}', None, "data") == [{"id": 1}]
    assert parse_response_records(b'{"id": 1}\n{"id": 2}', "text/plain", "") == [
        {"id": 1},
        {"id": 2},
    ]
    assert parse_response_records(b"id\n7\n", "application/octet-stream", "") == [{"id": "7"}]


def test_it_refuses_a_response_in_another_format():
    with pytest.raises(BodyError) as caught:
        parse_response_records(b"<html>Maintenance</html>", "text/html; charset=utf-8", "")

    assert caught.value.message == "The response is text/html, not JSON, NDJSON or CSV"


def test_it_reports_invalid_json_in_a_response_with_its_position():
    with pytest.raises(BodyError) as caught:
        parse_response_records(b'{"data": [}', "application/json", "data")

    assert caught.value.detail == {"line": 1, "column": 11, "position": 10}


def test_it_tells_json_from_ndjson_and_csv():
    assert sniff_media_type(b'  [{"id": 1}]') == "application/json"
    assert sniff_media_type(b'{\n  "id": 1\n}\n') == "application/json"
    assert sniff_media_type(b'{"id": 1}\n') == "application/json"
    assert sniff_media_type(b'\xef\xbb\xbf{"id": 1}\r\n{"id": 2}\r\n') == "application/x-ndjson"
    assert sniff_media_type(b"id,name\n1,x\n") == "text/csv"
