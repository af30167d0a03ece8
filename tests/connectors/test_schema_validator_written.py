"""The validator written for a schema answers exactly as its fields' fillers do, one by one."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.schema import (
    FIELD_TYPES,
    UNREADABLE_MESSAGE,
    CoercionError,
    CompiledSchema,
    FieldSpec,
)

NAMES = ["id", "email", "note", "address.city", "address.zip", "meta.tags.first"]
values = st.recursive(
    st.sampled_from([None, ""])
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "42", " yes ", "2024-05-01", "2024-05-01T09:30:00Z", "a@b.co"])
    | st.sampled_from(["https://example.com/x", "1_000", "1e3", "4.0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner),
    max_leaves=6,
)
specs = st.lists(
    st.builds(
        FieldSpec,
        name=st.sampled_from(["id", "email", "note", "address.city", "address.zip"]),
        type=st.sampled_from(FIELD_TYPES),
        required=st.booleans(),
        default=st.sampled_from([None, None, "7", "x"]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda spec: spec.name,
)


def by_fillers(schema: CompiledSchema, record: Any) -> tuple:
    """The reference: each field's filler in turn, as validation was before it was written out."""
    if not isinstance(record, dict):
        return "not an object"
    out: dict = {} if schema.drop_unknown else dict(record)
    for prefix in schema._nested_prefixes:
        parent = out
        for part in prefix[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(prefix[-1]), dict):
            parent[prefix[-1]] = dict(parent[prefix[-1]])
    errors = []
    for spec in schema.fields:
        if "." in spec.name:
            value: Any = record
            for part in spec.name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            value = record.get(spec.name) if value is None else value
        else:
            value = record.get(spec.name)
        try:
            schema.fillers[spec.name](value, out)
        except CoercionError as exc:
            errors.append({"field": spec.name, "message": str(exc)})
        except Exception:
            errors.append({"field": spec.name, "message": UNREADABLE_MESSAGE})
    return (None, errors) if errors else (out, errors)


@settings(max_examples=400)
@given(specs, st.booleans(), st.dictionaries(st.sampled_from(NAMES), values) | values)
@example([FieldSpec(name="note")], False, {"note": ""})
def test_it_answers_as_the_fillers_do(fields, drop_unknown, record):
    try:
        schema = CompiledSchema(fields, drop_unknown=drop_unknown)
    except ValueError:
        return  # a default that does not fit its type: refused when the schema is saved
    answer = schema.validate(record)
    expected = by_fillers(schema, record)
    if expected == "not an object":
        assert answer[0] is None and answer[1][0]["field"] == ""
    else:
        assert answer == expected


def test_a_field_name_is_data_not_code():
    name = 'x"] = 1; import os  #'
    schema = CompiledSchema([FieldSpec(name=name, type="integer", required=True)])
    assert schema.validate({name: "5"}) == ({name: 5}, [])
    assert schema.validate({}) == (None, [{"field": name, "message": "This field is required."}])
