from __future__ import annotations

import io
import tracemalloc

import pytest

from connectors.formats import (
    ACCEPTED_CONTENT_TYPES,
    BodyError,
    media_type,
    parse_records,
    read_limited,
)

JSON = "application/json"


def error_of(body: bytes, content_type: str = JSON, **options) -> BodyError:
    with pytest.raises(BodyError) as caught:
        parse_records(body, content_type, **options)
    return caught.value


class TrickleStream:
    """A request stream that hands out at most 10 bytes per read, as sockets do."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.read_sizes: list[int] = []

    def read(self, size: int) -> bytes:
        self.read_sizes.append(size)
        return self.data.read(min(size, 10))


def test_it_reads_one_object_as_one_record():
    assert parse_records(b'{"email": "alice@example.com"}', JSON) == [
        {"email": "alice@example.com"}
    ]


def test_it_reads_an_array_as_records():
    body = b'[{"id": 1}, {"id": 2, "tags": ["a"]}]'

    assert parse_records(body, JSON) == [{"id": 1}, {"id": 2, "tags": ["a"]}]


def test_it_reads_the_records_key():
    body = b'{"records": [{"id": 1}, {"id": 2}]}'

    assert parse_records(body, JSON) == [{"id": 1}, {"id": 2}]


def test_it_treats_a_records_key_that_is_not_an_array_as_a_field():
    assert parse_records(b'{"records": 3, "id": 1}', JSON) == [{"records": 3, "id": 1}]


def test_it_reads_an_empty_array_as_no_records():
    assert parse_records(b"[]", JSON) == []


def test_it_ignores_a_byte_order_mark():
    assert parse_records(b'\xef\xbb\xbf[{"id": 1}]', JSON) == [{"id": 1}]


def test_it_accepts_structured_json_suffixes():
    assert parse_records(b'{"id": 1}', "application/vnd.api+json") == [{"id": 1}]


def test_it_refuses_an_empty_body():
    for body in (b"", b"  \r\n\t", b"\xef\xbb\xbf"):
        error = error_of(body)

        assert (error.status, error.message) == (400, "The body is empty")


def test_it_names_line_column_and_position_of_a_syntax_error():
    body = b'[\n  {"id": 1},\n  {"id": 2 "name": "x"}\n]'

    error = error_of(body)

    assert error.status == 400
    assert error.detail == {"line": 3, "column": 12, "position": 26}
    assert error.message == (
        "Invalid JSON at line 3, column 12 (char 26): unexpected character, expected ',' or '}'"
    )


def test_it_counts_positions_in_characters_not_bytes():
    error = error_of('["été", x]'.encode())

    assert error.detail == {"line": 1, "column": 9, "position": 8}


def test_it_reports_a_truncated_document():
    error = error_of(b'[{"id": 1}')

    assert error.detail == {"line": 1, "column": 11, "position": 10}
    assert "unexpected end of data" in error.message


def test_it_reports_content_after_the_document():
    error = error_of(b'{"id": 1} {"id": 2}')

    assert error.detail["position"] == 10


def test_it_names_the_byte_of_invalid_utf8():
    error = error_of(b'[{"name": "ok"},\n {"name": "\xc3("}]')

    assert error.status == 400
    assert error.detail == {"position": 28, "line": 2}
    assert error.message.startswith("The body is not valid UTF-8 at byte 28 (line 2)")


def test_it_refuses_a_top_level_scalar():
    for body, kind in (
        (b"42", "number"),
        (b'"x"', "string"),
        (b"null", "null"),
        (b"true", "boolean"),
    ):
        error = error_of(body)

        assert error.status == 400
        assert error.message.startswith(f"The body is a JSON {kind};")


def test_it_names_the_index_of_a_record_that_is_not_an_object():
    error = error_of(b'[{"id": 1}, {"id": 2}, [3]]')

    assert (error.status, error.detail) == (400, {"index": 2})
    assert error.message == "Record 2 is a JSON array; each record must be a JSON object"


def test_it_checks_records_inside_the_records_key_too():
    assert error_of(b'{"records": [{"id": 1}, "two"]}').detail == {"index": 1}


def test_it_accepts_exactly_max_records():
    body = b"[" + b",".join([b'{"n": 1}'] * 5) + b"]"

    assert len(parse_records(body, JSON, max_records=5)) == 5


def test_it_refuses_one_record_more_than_max_records():
    body = b"[" + b",".join([b'{"n": 1}'] * 10_001) + b"]"

    error = error_of(body, max_records=10_000)

    assert error.status == 413
    assert error.message == "The batch has 10,001 records; at most 10,000 are accepted per request"
    assert error.detail == {"records": 10_001, "max_records": 10_000}


def test_it_refuses_an_unsupported_content_type_naming_the_accepted_ones():
    error = error_of(b"a=1", "application/x-www-form-urlencoded")

    assert error.status == 415
    assert error.message == (
        "The content type 'application/x-www-form-urlencoded' is not supported; "
        "send application/json, application/x-ndjson or text/csv"
    )


def test_it_refuses_a_missing_content_type():
    error = error_of(b"{}", "")

    assert error.status == 415
    assert error.message.startswith("The Content-Type header is missing")


def test_it_decides_the_content_type_before_looking_at_the_body():
    assert error_of(b"", "text/html").status == 415


def test_it_lists_every_accepted_content_type():
    assert {"application/json", "application/x-ndjson", "application/jsonl", "text/csv"} <= set(
        ACCEPTED_CONTENT_TYPES
    )


def test_it_strips_parameters_and_case_from_the_media_type():
    assert media_type("Application/JSON; charset=UTF-8") == "application/json"
    assert media_type('text/csv; header=present; charset="utf-8"') == "text/csv"
    assert media_type("application/x-ndjson;charset=us-ascii") == "application/x-ndjson"


def test_it_returns_an_empty_media_type_when_the_header_is_absent():
    assert media_type(None) == ""
    assert media_type("") == ""


def test_it_refuses_charsets_other_than_utf8():
    with pytest.raises(BodyError) as caught:
        media_type("text/csv; charset=windows-1252")

    assert caught.value.status == 415
    assert (
        caught.value.message
        == "The charset 'windows-1252' is not supported; send the body as UTF-8"
    )


def test_it_reads_a_body_of_exactly_max_bytes():
    assert read_limited(io.BytesIO(b"x" * 100), 100, max_bytes=100) == b"x" * 100


def test_it_reads_a_body_without_content_length_in_chunks():
    stream = TrickleStream(b"y" * 95)

    assert read_limited(stream, None, max_bytes=100) == b"y" * 95


@pytest.mark.parametrize("content_length", [4_000_000, None])
def test_it_holds_a_large_body_once_while_reading_it(content_length):
    data = b"z" * 4_000_000
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        body = read_limited(stream, content_length, max_bytes=5_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert body == data
    # Chunks joined at the end held it twice (8 MB).
    assert peak < 1.2 * len(data)


def test_it_reads_a_body_shorter_than_its_content_length_as_it_came():
    assert read_limited(TrickleStream(b"a" * 25), 40, max_bytes=100) == b"a" * 25


def test_it_refuses_from_content_length_before_reading():
    stream = TrickleStream(b"x" * 101)

    with pytest.raises(BodyError) as caught:
        read_limited(stream, 101, max_bytes=100)

    assert caught.value.status == 413
    assert caught.value.message == "The body is 101 bytes; at most 100 are accepted per request"
    assert stream.read_sizes == []


def test_it_refuses_while_reading_when_there_is_no_content_length():
    stream = TrickleStream(b"x" * 1000)

    with pytest.raises(BodyError) as caught:
        read_limited(stream, None, max_bytes=100)

    assert caught.value.status == 413
    assert caught.value.detail == {"max_bytes": 100}
    assert stream.data.tell() == 101


def test_it_refuses_while_reading_when_content_length_understates_the_body():
    with pytest.raises(BodyError) as caught:
        read_limited(io.BytesIO(b"x" * 101), 5, max_bytes=100)

    assert caught.value.status == 413


def test_it_gives_the_error_as_a_json_response_body():
    error = error_of(b"[1,")

    assert error.as_dict() == {
        "detail": error.message,
        "line": 1,
        "column": 4,
        "position": 3,
    }
