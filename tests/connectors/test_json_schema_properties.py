"""The published JSON Schemas agree with the validator they describe.

(a) a record the ingest validator accepts validates against the published ingest schema;
(b) a record the published ingest schema accepts is accepted by the validator;
(c) a record a mailbox hands out validates against the published mailbox schema.
"""

from __future__ import annotations

from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls
from jsonschema import Draft202012Validator

from connectors.json_schema import accepted_schema, emitted_schema
from connectors.schema import FIELD_TYPES, CompiledSchema, FieldSpec
from pipelines.mapping.compile import compile_mapping

# What str.strip() strips: senders pad values with it, the validator reads through it.
PADDING = st.text(st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u3000"), max_size=2)


def padded(texts):
    return st.tuples(PADDING, texts, PADDING).map("".join)


def any_case(words):
    return st.sampled_from(words).flatmap(
        lambda word: st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in word]).map(
            "".join
        )
    )


datetimes = st.datetimes(timezones=st.none() | st.just(UTC) | st.timezones())

# Values each type's senders write, in the spellings the published schema describes.
SPELLINGS = {
    "string": st.text(min_size=1)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False),
    "integer": st.integers()
    | padded(st.integers().map(str))
    | st.integers(-9999, 9999).map(lambda n: f"{n}.0")
    | st.integers(-(2**60), 2**60).map(float),
    "number": st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | padded(st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr))
    | padded(
        st.from_regex(r"[+-]?[0-9]{1,5}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,2})?", fullmatch=True)
    ),
    "boolean": st.booleans()
    | st.sampled_from([0, 1])
    | padded(any_case(["true", "false", "yes", "no", "y", "n", "on", "off", "1", "0"])),
    "date": padded(st.dates().map(lambda d: d.isoformat())),
    "datetime": padded(
        st.tuples(
            datetimes,
            st.sampled_from(["T", " ", "t"]),
            st.sampled_from(["auto", "seconds", "minutes", "hours"]),
        ).map(lambda t: t[0].isoformat(sep=t[1], timespec=t[2]))
        | st.dates().map(lambda d: d.isoformat())
        | datetimes.map(lambda d: d.isoformat().replace("+00:00", "Z"))
    ),
    "email": padded(st.emails()),
    "url": padded(urls()),
    "json": st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: (
            st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
        ),
        max_leaves=4,
    ),
}

# Anything at all: other types' values, wrong texts, missing markers, objects and lists.
# No integral float for a yes/no field: JSON Schema cannot tell 1.0 from 1 (the validator
# refuses 1.0 there), see docs/ingest.md.
ANYTHING = (
    st.none()
    | st.just("")
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.text(st.sampled_from("0123456789+-.eE :TtZ@/x"), max_size=14)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
    | st.one_of(list(SPELLINGS.values()))
)


@st.composite
def one_field_cases(draw, values):
    """A schema of one field (maybe nested, required, with a default), and a record for it."""
    type_name = draw(st.sampled_from(FIELD_TYPES))
    nested = draw(st.booleans())
    name = "outer.value" if nested else "value"
    default = draw(st.none() | SPELLINGS[type_name]) if draw(st.booleans()) else None
    spec = FieldSpec(name, type_name, required=draw(st.booleans()), default=default)
    try:
        CompiledSchema([spec])
    except ValueError:  # a default the field cannot take: the schema is refused at save
        default = None
        spec = FieldSpec(name, type_name, required=spec.required)
    record: dict = {}
    if draw(st.booleans()):
        record["unknown"] = draw(ANYTHING)
    if draw(st.integers(0, 3)):  # mostly present
        value = draw(values(type_name))
        if nested:
            record["outer"] = {"value": value}
        else:
            record["value"] = value
    return spec, record


def right_values(type_name):
    return SPELLINGS[type_name] | st.none() | st.just("")


def any_values(type_name):
    anything = ANYTHING
    if type_name == "boolean":
        anything = anything.filter(lambda v: not (isinstance(v, float) and v.is_integer()))
    return anything


def verdicts(spec: FieldSpec, record: dict, drop_unknown: bool):
    """(the validator's errors, the published schema's errors) for one record."""
    _, errors = CompiledSchema([spec], drop_unknown=drop_unknown).validate(record)
    schema = accepted_schema([spec], drop_unknown=drop_unknown)
    return errors, [e.message for e in Draft202012Validator(schema).iter_errors(record)]


@settings(max_examples=300, deadline=None)
@given(one_field_cases(right_values), st.booleans())
def test_a_record_the_validator_accepts_validates_against_the_published_schema(case, drop):
    spec, record = case
    errors, schema_errors = verdicts(spec, record, drop)
    if not errors:
        assert schema_errors == [], (spec, record)


@settings(max_examples=500, deadline=None)
@given(one_field_cases(any_values), st.booleans())
def test_a_record_the_published_schema_accepts_is_accepted_by_the_validator(case, drop):
    spec, record = case
    errors, schema_errors = verdicts(spec, record, drop)
    if not schema_errors:
        assert errors == [], (spec, record)


@settings(max_examples=500, deadline=None)
@given(one_field_cases(any_values))
def test_the_schema_and_the_validator_agree_on_a_record_of_one_right_or_wrong_value(case):
    # Both directions at once over right types, wrong types and missing values.
    spec, record = case
    errors, schema_errors = verdicts(spec, record, drop_unknown=False)
    if any(isinstance(v, str) for v in _values(record)):
        return  # texts the validator reads but the schema does not spell out: see test (a)
    assert (errors == []) == (schema_errors == []), (spec, record, errors, schema_errors)


def _values(record):
    for value in record.values():
        yield from (_values(value) if isinstance(value, dict) else [value])


def test_required_fields_and_types_in_the_schema_itself():
    schema = accepted_schema(
        [
            FieldSpec("id", "integer", required=True),
            FieldSpec("status", "string", required=True, default="new"),
            FieldSpec("customer.email", "email", required=True),
            FieldSpec("customer.name", "string"),
        ]
    )
    validator = Draft202012Validator(schema)

    assert schema["required"] == ["id", "customer"]  # a default makes "status" optional
    assert schema["properties"]["status"]["default"] == "new"
    assert validator.is_valid({"id": 1, "customer": {"email": "a@example.com"}})
    assert not validator.is_valid({"id": 1, "customer": {"name": "Ann"}})
    assert not validator.is_valid({"id": "one", "customer": {"email": "a@example.com"}})
    assert not validator.is_valid({"id": None, "customer": {"email": "a@example.com"}})


@st.composite
def mailbox_cases(draw):
    count = draw(st.integers(1, 4))
    names = draw(
        st.lists(
            st.sampled_from(["a", "b", "c.d", "c.e", "f.g.h"]),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    fields = [
        FieldSpec(
            name,
            draw(st.sampled_from(FIELD_TYPES)),
            required=draw(st.booleans()),
        )
        for name in names
    ]
    records = draw(
        st.lists(
            st.fixed_dictionaries(
                {}, optional={spec.name: right_values(spec.type) for spec in fields}
            ),
            min_size=1,
            max_size=4,
        )
    )
    return fields, [_nest(record) for record in records]


def _nest(flat: dict) -> dict:
    record: dict = {}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        holder = record
        for part in parents:
            holder = holder.setdefault(part, {})
        holder[leaf] = value
    return record


@settings(max_examples=200, deadline=None)
@given(mailbox_cases(), st.booleans())
def test_what_a_mailbox_hands_out_validates_against_its_published_schema(case, validated):
    fields, records = case
    source = CompiledSchema(fields)
    mapping = compile_mapping([], fields, validated_by=fields if validated else ())
    published = Draft202012Validator(emitted_schema(fields))
    for record in records:
        clean, errors = source.validate(record)
        if errors:
            continue
        out, errors = mapping.map(clean)
        if not errors:
            assert list(published.iter_errors(out)) == [], (fields, record, out)
