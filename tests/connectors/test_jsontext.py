from __future__ import annotations

import json

import orjson
import pytest

from connectors import jsontext


def test_it_reads_integers_beyond_64_bits_exactly():
    value = jsontext.loads(b'{"big": 18446744073709551617, "negative": -1180591620717411303424}')
    assert value == {"big": 2**64 + 1, "negative": -(2**70)}
    assert type(value["big"]) is int and type(value["negative"]) is int


def test_it_reads_them_from_text_and_memoryviews_too():
    document = "[123456789012345678901234567890]"
    assert jsontext.loads(document) == [123456789012345678901234567890]
    view = memoryview(b"  " + document.encode())[2:]
    assert jsontext.loads(view) == [123456789012345678901234567890]


def test_it_reads_the_first_negative_integer_orjson_cannot_hold_exactly():
    # 19 digits only: one below -2**63.
    assert jsontext.loads(b"[-9223372036854775809]") == [-(2**63) - 1]


def test_long_digit_strings_stay_strings():
    assert jsontext.loads(b'{"card": "12345678901234567890123", "n": 1}') == {
        "card": "12345678901234567890123",
        "n": 1,
    }


def test_floats_stay_floats_beside_a_long_integer():
    value = jsontext.loads(b"[123456789012345678901234567890, 1.5, 12345678901234567890.5, 1e30]")
    assert value == [123456789012345678901234567890, 1.5, 12345678901234567890.5, 1e30]
    assert [type(v) for v in value] == [int, float, float, float]


def test_ordinary_documents_read_as_orjson_reads_them():
    document = b'[{"id": 9223372036854775807, "at": "2024-05-01", "amount": 0.1, "ok": true}]'
    assert jsontext.loads(document) == orjson.loads(document)


def test_invalid_json_raises_with_its_line_and_column():
    with pytest.raises(jsontext.JSONDecodeError) as caught:
        jsontext.loads(b'[123456789012345678901234567890,\n  "a" "b"]')
    assert (caught.value.lineno, caught.value.colno) == (2, 7)
    assert isinstance(caught.value, orjson.JSONDecodeError)


@pytest.mark.parametrize(
    "document",
    [
        b"[123456789012345678901234567890, NaN]",
        b"[123456789012345678901234567890, Infinity]",
        b"[123456789012345678901234567890, 1e400]",
        b'[123456789012345678901234567890, "\\ud800"]',
        b'[123456789012345678901234567890, "\xff"]',
    ],
)
def test_it_refuses_what_orjson_refuses_even_beside_a_long_integer(document):
    with pytest.raises(jsontext.JSONDecodeError):
        jsontext.loads(document)


def test_nesting_too_deep_for_the_standard_library_is_invalid_json_not_a_crash():
    document = "[" * 1020 + "123456789012345678901234567890" + "]" * 1020
    with pytest.raises(jsontext.JSONDecodeError):
        jsontext.loads(document)


def test_the_reader_for_a_document_reads_its_lines_exactly():
    body = b'{"id": 1}\n{"id": 123456789012345678901234567890}\n'
    load = jsontext.reader_for(body)
    lines = memoryview(body)
    assert [load(lines[0:9]), load(lines[10:-1])] == [
        {"id": 1},
        {"id": 123456789012345678901234567890},
    ]


def test_it_writes_integers_beyond_64_bits_exactly():
    value = {"big": 2**64 + 1, "negative": -(2**70), "name": "Zoë"}
    text = jsontext.dumps(value)
    assert text == '{"big":18446744073709551617,"negative":-1180591620717411303424,"name":"Zoë"}'
    assert jsontext.loads(text) == value


def test_it_writes_keys_that_are_not_strings():
    assert jsontext.dumps({1: [2**64]}) == '{"1":[18446744073709551616]}'


def test_ordinary_values_are_written_as_orjson_writes_them():
    value = [{"id": 2**64 - 1, "amount": 0.1, "at": "2024-05-01", "tags": ["é"], "ok": None}]
    assert jsontext.dumps(value) == orjson.dumps(value).decode()
    assert json.loads(jsontext.dumps(value)) == value


def test_it_writes_each_value_of_a_list_as_dumps_does():
    values = [{"id": 1, "name": "Zoë"}, {"id": 2**64 + 1}, {1: [2**64]}, {"ok": None}]
    assert jsontext.dumps_each(values) == [jsontext.dumps(value) for value in values]
    assert jsontext.dumps_each(values[:1]) == ['{"id":1,"name":"Zoë"}']
    assert jsontext.dumps_each([]) == []
