from __future__ import annotations

import math

import pytest

from connectors.schema import CoercionError, coerce


@pytest.mark.parametrize(
    ("value", "expected"),
    [(42, 42), ("42", 42), (" 42 ", 42), ("-7", -7), ("42.0", 42), (42.0, 42), ("1e3", 1000)],
)
def test_it_reads_whole_numbers_the_way_a_person_writes_them(value, expected):
    result = coerce("integer", value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value", ["abc", "", "1.5", 1.5, True, False, "1_000", None, [1], {}, "NaN"]
)
def test_it_refuses_what_is_not_a_whole_number(value):
    with pytest.raises(CoercionError, match="is not a whole number"):
        coerce("integer", value)


def test_it_explains_the_integer_error_in_plain_words():
    with pytest.raises(CoercionError) as error:
        coerce("integer", "abc")
    assert str(error.value) == "'abc' is not a whole number"


def test_it_refuses_an_absurdly_large_whole_number():
    with pytest.raises(CoercionError, match="too large"):
        coerce("integer", "1e999999")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3.5", 3.5), (" 3.5 ", 3.5), ("42", 42), (7, 7), (2.25, 2.25), ("-1e3", -1000.0)],
)
def test_it_reads_numbers(value, expected):
    assert coerce("number", value) == expected


def test_it_keeps_a_long_whole_number_exact():
    assert coerce("number", "123456789012345678901") == 123456789012345678901


@pytest.mark.parametrize(
    "value",
    ["abc", "NaN", "nan", "Infinity", "-inf", math.nan, math.inf, "1e999", True, "", "1_0", [1]],
)
def test_it_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(CoercionError, match="is not a number"):
        coerce("number", value)


@pytest.mark.parametrize("value", ["true", "TRUE", " yes ", "Y", "1", "on", True, 1])
def test_it_reads_yes(value):
    assert coerce("boolean", value) is True


@pytest.mark.parametrize("value", ["false", "No", "n", "0", "OFF", False, 0])
def test_it_reads_no(value):
    assert coerce("boolean", value) is False


@pytest.mark.parametrize("value", ["maybe", "", 2, 0.5, None, []])
def test_it_refuses_what_is_neither_yes_nor_no(value):
    with pytest.raises(CoercionError, match="is not yes or no"):
        coerce("boolean", value)


@pytest.mark.parametrize(
    ("value", "expected"), [("2024-05-01", "2024-05-01"), (" 2024-05-01 ", "2024-05-01")]
)
def test_it_reads_iso_dates(value, expected):
    assert coerce("date", value) == expected


@pytest.mark.parametrize(
    "value", ["2024-13-01", "01/05/2024", "2024-05-01T10:00:00", 20240501, "yesterday"]
)
def test_it_refuses_what_is_not_an_iso_date(value):
    with pytest.raises(CoercionError, match="is not a date"):
        coerce("date", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T09:30:00Z", "2024-05-01T09:30:00+00:00"),
        ("2024-05-01T09:30:00+02:00", "2024-05-01T09:30:00+02:00"),
        ("2024-05-01T09:30:00.250-05:00", "2024-05-01T09:30:00.250000-05:00"),
        ("2024-05-01 09:30", "2024-05-01T09:30:00"),
        ("2024-05-01", "2024-05-01T00:00:00"),
    ],
)
def test_it_reads_iso_datetimes_keeping_the_offset(value, expected):
    assert coerce("datetime", value) == expected


@pytest.mark.parametrize("value", ["2024-05-01T25:00:00", "May 1st", 1714555800, ""])
def test_it_refuses_what_is_not_an_iso_datetime(value):
    with pytest.raises(CoercionError, match="is not a date and time"):
        coerce("datetime", value)


def test_it_reads_an_email_address_without_surrounding_blanks():
    assert coerce("email", " alice@example.com ") == "alice@example.com"


@pytest.mark.parametrize(
    "value",
    ["not-an-email", "alice@", "@example.com", "alice@example", "a b@example.com", "a@b..com", 5],
)
def test_it_refuses_what_is_not_an_email_address(value):
    with pytest.raises(CoercionError, match="is not an email address"):
        coerce("email", value)


@pytest.mark.parametrize("value", ["https://example.com/a?b=1", "http://localhost:8000"])
def test_it_reads_web_addresses(value):
    assert coerce("url", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "ftp://example.com",
        "https://",
        "example.com",
        "javascript:alert(1)",
        "http://exa mple.com",
        3,
    ],
)
def test_it_refuses_what_is_not_an_http_address(value):
    with pytest.raises(CoercionError, match="is not a web address"):
        coerce("url", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("as is ", "as is "), (42, "42"), (3.5, "3.5"), (True, "true"), (False, "false")],
)
def test_it_turns_scalars_into_text(value, expected):
    assert coerce("string", value) == expected


@pytest.mark.parametrize(("value", "shown"), [({"a": 1}, "an object"), ([1], "a list")])
def test_it_refuses_to_turn_objects_and_lists_into_text(value, shown):
    with pytest.raises(CoercionError, match=f"{shown} is not text"):
        coerce("string", value)


@pytest.mark.parametrize("value", [{"a": [1, None]}, [1, "x"], "text", 3, None, True])
def test_it_takes_any_json_value_for_json(value):
    assert coerce("json", value) == value


def test_it_refuses_an_unknown_type():
    with pytest.raises(ValueError, match="unknown field type"):
        coerce("money", "3")
