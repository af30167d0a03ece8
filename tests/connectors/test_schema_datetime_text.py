"""Datetime text already in the form the schema writes is kept as sent, after being checked:
the result must be exactly what parsing and writing it again gives, for every text."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.schema import CoercionError, CompiledSchema, FieldSpec, coerce


def written_again(value: str) -> str | None:
    """The plain coercion: parse, write back; None when it cannot be read."""
    try:
        return datetime.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return None


def two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


fractions = st.sampled_from(["", ".000000", ".000001", ".5", ".250", ".123456", ".1234567", ".00"])
offsets = st.one_of(
    st.sampled_from(["", "Z", "z", "+00:00", "-00:00", "+24:00", "+00:60", "+0530", "+05"]),
    st.builds(
        lambda sign, hh, mm, ss: f"{sign}{hh}:{mm}{ss}",
        st.sampled_from("+-"),
        two_digits(0, 25),
        two_digits(0, 61),
        st.sampled_from(["", ":00", ":30", ":30.000001"]),
    ),
)
datetime_texts = st.builds(
    lambda year, month, day, sep, hour, minute, second, fraction, offset, blank: (
        f"{blank}{year}-{month}-{day}{sep}{hour}:{minute}:{second}{fraction}{offset}"
    ),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    two_digits(0, 13),
    two_digits(0, 32),
    st.sampled_from(["T", "T", "T", " ", "t", "_"]),
    two_digits(0, 25),
    two_digits(0, 61),
    two_digits(0, 61),
    fractions,
    offsets,
    st.sampled_from(["", "", "", " ", "\t"]),
)


@settings(max_examples=2000)
@given(st.one_of(datetime_texts, st.text(max_size=40)))
@example("2024-05-01T12:30:00.000000+00:00")
@example("2024-05-01T12:30:00Z")
@example("2024-05-01T12:30:00.000000Z")
@example("2024-05-01T12:30:00.123456Z")
@example("2024-13-01T12:30:00Z")
@example("2024-05-01T12:30:00-00:00")
@example("2024-05-01T24:00:00")
@example("2024-05-01T12:30:00+00:60")
@example("2024-05-01T12:30:00+\u0665\u0660:00")  # Arabic-Indic digits
def test_it_writes_every_datetime_text_as_parsing_and_writing_it_again_would(value):
    expected = written_again(value)
    if expected is None:
        with pytest.raises(CoercionError, match="is not a date and time"):
            coerce("datetime", value)
    else:
        assert coerce("datetime", value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2024-13-01T12:30:00+00:00",
        "2024-02-30T12:30:00+00:00",
        "2023-02-29T12:30:00",
        "0000-05-01T12:30:00+00:00",
    ],
)
def test_it_still_refuses_a_date_that_cannot_be_in_the_written_form(value):
    with pytest.raises(CoercionError, match="is not a date and time"):
        coerce("datetime", value)


def test_it_keeps_the_text_sent_when_it_is_already_in_the_written_form():
    validate = CompiledSchema([FieldSpec("at", "datetime")]).validate
    clean, errors = validate({"at": "2024-05-01T12:30:00.123456+05:30"})
    assert errors == []
    assert clean == {"at": "2024-05-01T12:30:00.123456+05:30"}
    _, errors = validate({"at": "2024-13-01T12:30:00+00:00"})
    assert errors == [
        {
            "field": "at",
            "message": "'2024-13-01T12:30:00+00:00' is not a date and time "
            "(use ISO 8601, e.g. 2024-05-01T09:30:00Z)",
        }
    ]
