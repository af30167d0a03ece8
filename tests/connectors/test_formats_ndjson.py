from __future__ import annotations

import tracemalloc

import pytest

from connectors.formats import BodyError, parse_records

NDJSON = "application/x-ndjson"


def error_of(body: bytes, **options) -> BodyError:
    with pytest.raises(BodyError) as caught:
        parse_records(body, NDJSON, **options)
    return caught.value


def test_it_reads_one_object_per_line():
    body = b'{"id": 1}\n{"id": 2, "tags": ["a", "b"]}\n'

    assert parse_records(body, NDJSON) == [{"id": 1}, {"id": 2, "tags": ["a", "b"]}]


def test_it_reads_a_last_line_without_newline():
    assert parse_records(b'{"id": 1}\n{"id": 2}', NDJSON) == [{"id": 1}, {"id": 2}]


def test_it_accepts_crlf_line_endings():
    assert parse_records(b'{"id": 1}\r\n{"id": 2}\r\n', NDJSON) == [{"id": 1}, {"id": 2}]


def test_it_skips_blank_lines():
    body = b'\n{"id": 1}\n\n   \n\t\r\n{"id": 2}\n\n'

    assert parse_records(body, NDJSON) == [{"id": 1}, {"id": 2}]


def test_it_ignores_a_byte_order_mark():
    assert parse_records(b'\xef\xbb\xbf{"id": 1}\n', NDJSON) == [{"id": 1}]


def test_it_accepts_the_json_lines_names():
    for content_type in ("application/ndjson", "application/jsonl", "application/x-jsonlines"):
        assert parse_records(b'{"id": 1}', content_type) == [{"id": 1}]


def test_it_refuses_an_empty_body():
    assert error_of(b"\n\r\n  \n").message == "The body is empty"


def test_it_names_the_line_and_column_of_invalid_json():
    body = b'{"id": 1}\n\n{"id": 2}\n{"id": 3}\n{"id": 4}\n{"id": 5}\n{"id" 7}\n{"id": 8}\n'

    error = error_of(body)

    assert error.status == 400
    assert error.detail == {"line": 7, "column": 7}
    assert error.message == (
        "NDJSON line 7 is not valid JSON: unexpected character, expected ':' after key at column 7"
    )


def test_it_counts_lines_after_crlf_endings():
    assert error_of(b'{"id": 1}\r\n\r\n{"id": }\r\n').detail["line"] == 3


def test_it_refuses_two_values_on_one_line():
    error = error_of(b'{"id": 1} {"id": 2}\n')

    assert error.detail == {"line": 1, "column": 11}


def test_it_refuses_an_object_spread_over_several_lines():
    error = error_of(b'{\n  "id": 1\n}\n')

    assert error.detail["line"] == 1


def test_it_refuses_a_line_that_is_not_an_object():
    error = error_of(b'{"id": 1}\n[{"id": 2}]\n')

    assert (error.status, error.detail) == (400, {"line": 2})
    assert error.message == "NDJSON line 2 is a JSON array; each line must be a JSON object"


def test_it_names_the_line_and_byte_of_invalid_utf8():
    error = error_of(b'{"name": "ok"}\n{"name": "\xff"}\n')

    assert error.status == 400
    assert error.detail == {"line": 2, "position": 25}
    assert error.message == "NDJSON line 2 is not valid UTF-8 at byte 25: invalid start byte"


def test_it_accepts_exactly_max_records():
    body = b'{"n": 1}\n' * 3

    assert len(parse_records(body, NDJSON, max_records=3)) == 3


def test_it_counts_the_whole_batch_when_refusing_too_many_records():
    body = b'{"n": 1}\n\n' * 7

    error = error_of(body, max_records=3)

    assert error.status == 413
    assert error.message == "The batch has 7 records; at most 3 are accepted per request"


def test_it_parses_without_copying_the_body():
    body = b'{"id": 123456, "email": "alice@example.com"}\n' * 8_000
    tracemalloc.start()
    try:
        records = parse_records(body, NDJSON)
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(records) > 0
    assert peak - retained < len(body) // 2
