from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.schema import FIELD_TYPES, CompiledSchema, FieldSpec, infer_schema
from pipelines.mapping.compile import MappingSpec, compile_mapping

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["id", "email", "amount", "when", "flag", "customer.name", "customer.tags", "First Name"]
)
records = json_values | st.dictionaries(field_names, json_values, max_size=8)

DESTINATION = [
    FieldSpec(name, type_name, required=required)
    for (name, type_name), required in zip(
        [
            ("id", "string"),
            ("email", "email"),
            ("amount", "number"),
            ("count", "integer"),
            ("when", "datetime"),
            ("day", "date"),
            ("flag", "boolean"),
            ("site", "url"),
            ("customer.name", "string"),
            ("customer.tags", "json"),
            ("first_name", "string"),
        ],
        [True, False] * 6,
        strict=False,
    )
]
assert {spec.type for spec in DESTINATION} == set(FIELD_TYPES)

MAPPING = compile_mapping(
    [
        MappingSpec(target="email", source="email", transforms=["trim", "lower"]),
        MappingSpec(target="amount", source="amount", transforms=["default:0", "to_number"]),
        MappingSpec(target="count", source="customer.tags.0", transforms=["to_integer"]),
        MappingSpec(target="day", template="{{ when|date }}"),
        MappingSpec(target="site", template="https://x.example/{{ id|urlencode }}"),
        MappingSpec(target="flag", source="flag", transforms=["to_boolean"]),
        MappingSpec(
            target="customer.name",
            source="customer.name",
            transforms=["split: ", "join:-", "truncate:5"],
        ),
    ],
    DESTINATION,
)


def _is_outcome(result, errors) -> bool:
    if result is None:
        return bool(errors) and all(set(error) == {"field", "message"} for error in errors)
    return isinstance(result, dict) and errors == []


@settings(max_examples=150, deadline=None)
@given(records)
def test_it_always_returns_a_record_or_errors_whatever_it_is_given(record):
    result, errors = MAPPING.map(record)
    assert _is_outcome(result, errors)
    if result is not None:
        assert set(result) <= {
            "id",
            "email",
            "amount",
            "count",
            "when",
            "day",
            "flag",
            "site",
            "customer",
            "first_name",
        }


@settings(max_examples=150, deadline=None)
@given(records, st.booleans())
def test_it_always_validates_to_a_record_or_errors_whatever_it_is_given(record, drop_unknown):
    result, errors = CompiledSchema(DESTINATION, drop_unknown=drop_unknown).validate(record)
    assert _is_outcome(result, errors)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "email", "customer"]), json_values, max_size=3))
def test_it_accepts_what_it_produced(record):
    result, _ = MAPPING.map(record)
    if result is not None:
        assert CompiledSchema(DESTINATION).validate(result) == (result, [])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.text(max_size=6) | field_names, json_values, max_size=5), max_size=4
    )
)
def test_it_infers_a_schema_that_accepts_its_own_samples(samples):
    schema = CompiledSchema(infer_schema(samples))
    for sample in samples:
        assert schema.validate(sample)[1] == []
