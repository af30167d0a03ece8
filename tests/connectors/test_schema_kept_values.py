"""The written validator keeps a value of its field's type as it is, without calling the
field's coercion: for every value, the outcome must be the coercion's (value or message)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.schema import FIELD_TYPES, CoercionError, CompiledSchema, FieldSpec, coerce

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "a@b.co",
            " a@b.co ",
            "a@b.co\n",
            "a\u00a0@b.co",
            "a @b.co",
            "\u2003a@b.co",
            "a@b",
            "x" * 250 + "@b.co",
            "x" * 248 + "@b.co",
            "0",
            "1",
            " yes ",
            "2024-05-01T12:30:00+00:00",
            "https://example.com/",
        ]
    ),
)


def by_coercion(type_name: str, value: Any) -> tuple:
    if value is None or value == "":
        return {}, []
    try:
        return {"f": coerce(type_name, value)}, []
    except CoercionError as exc:
        return None, [{"field": "f", "message": str(exc)}]


@settings(max_examples=600)
@given(st.sampled_from(FIELD_TYPES), st.booleans(), values)
@example("email", False, " a@b.co ")
@example("email", True, "a@b.co\n")
@example("email", False, "x" * 250 + "@b.co")
@example("number", False, float("nan"))
@example("integer", False, True)
def test_it_validates_each_value_as_its_coercion_does(type_name, drop_unknown, value):
    validate = CompiledSchema([FieldSpec("f", type_name)], drop_unknown=drop_unknown).validate
    expected = by_coercion(type_name, value)
    answer = validate({"f": value})
    assert answer == expected
    if "f" in (expected[0] or {}):
        assert type(answer[0]["f"]) is type(expected[0]["f"])


@pytest.mark.parametrize("value", [" bob@example.com ", "bob@example.com\t"])
def test_an_email_address_with_blanks_around_it_is_kept_without_them(value):
    validate = CompiledSchema([FieldSpec("email", "email")]).validate
    assert validate({"email": value}) == ({"email": "bob@example.com"}, [])
