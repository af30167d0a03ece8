from __future__ import annotations

import copy

import pytest

from connectors.schema import CompiledSchema, FieldSpec, get_path, set_path

ORDER = [
    FieldSpec("id", "string", required=True),
    FieldSpec("quantity", "integer", required=True),
    FieldSpec("identifiers.email", "email", required=True),
    FieldSpec("message_data.amount", "number"),
    FieldSpec("status", "string", default="new"),
]


def test_it_returns_a_clean_record_with_coerced_values():
    schema = CompiledSchema(ORDER)
    clean, errors = schema.validate(
        {
            "id": 7,
            "quantity": "3",
            "identifiers": {"email": " bob@example.com "},
            "message_data": {"amount": "9.5"},
        }
    )
    assert errors == []
    assert clean == {
        "id": "7",
        "quantity": 3,
        "identifiers": {"email": "bob@example.com"},
        "message_data": {"amount": 9.5},
        "status": "new",
    }


def test_it_reports_every_field_error_not_only_the_first():
    schema = CompiledSchema(ORDER)
    clean, errors = schema.validate({"quantity": "abc", "identifiers": {"email": "nope"}})
    assert clean is None
    assert errors == [
        {"field": "id", "message": "This field is required."},
        {"field": "quantity", "message": "'abc' is not a whole number"},
        {"field": "identifiers.email", "message": "'nope' is not an email address"},
    ]


@pytest.mark.parametrize("missing", [{}, {"id": None}, {"id": ""}])
def test_it_counts_absent_null_and_empty_cells_as_missing(missing):
    clean, errors = CompiledSchema([FieldSpec("id", required=True)]).validate(missing)
    assert clean is None
    assert errors == [{"field": "id", "message": "This field is required."}]


def test_it_fills_a_missing_field_with_its_default_coerced_to_the_type():
    schema = CompiledSchema([FieldSpec("retries", "integer", required=True, default="3")])
    assert schema.validate({"retries": ""}) == ({"retries": 3}, [])


def test_it_leaves_a_missing_optional_field_absent():
    schema = CompiledSchema([FieldSpec("nickname"), FieldSpec("profile.bio")])
    assert schema.validate({"nickname": "", "profile": {"bio": None}, "x": 1}) == (
        {"profile": {}, "x": 1},
        [],
    )


def test_it_gives_each_record_its_own_copy_of_an_object_default():
    schema = CompiledSchema([FieldSpec("tags", "json", default=["a"])])
    first, _ = schema.validate({})
    first["tags"].append("b")
    second, _ = schema.validate({})
    assert second == {"tags": ["a"]}


def test_it_keeps_unknown_fields_without_touching_the_input():
    record = {
        "id": "1",
        "extra": {"keep": True},
        "identifiers": {"email": "a@b.co", "phone": "123"},
    }
    before = copy.deepcopy(record)
    clean, _ = CompiledSchema(
        [
            FieldSpec("id"),
            FieldSpec("identifiers.email", "email"),
            FieldSpec("identifiers.uid", default="u1"),
        ]
    ).validate(record)
    assert clean == {
        "id": "1",
        "extra": {"keep": True},
        "identifiers": {"email": "a@b.co", "phone": "123", "uid": "u1"},
    }
    assert record == before


def test_it_drops_unknown_fields_when_asked_including_nested_ones():
    schema = CompiledSchema(
        [FieldSpec("id"), FieldSpec("identifiers.email", "email")], drop_unknown=True
    )
    clean, _ = schema.validate(
        {"id": "1", "extra": 2, "identifiers": {"email": "a@b.co", "phone": "123"}}
    )
    assert clean == {"id": "1", "identifiers": {"email": "a@b.co"}}


@pytest.mark.parametrize(
    ("record", "shown"), [([1, 2], "a list"), ("text", "'text'"), (None, "null"), (3, "3")]
)
def test_it_rejects_a_record_that_is_not_an_object(record, shown):
    assert CompiledSchema(ORDER).validate(record) == (
        None,
        [{"field": "", "message": f"A record must be an object, not {shown}."}],
    )


def test_it_reports_a_nested_field_under_a_value_that_is_not_an_object():
    schema = CompiledSchema([FieldSpec("identifiers.email", "email", default="x@y.co")])
    clean, errors = schema.validate({"identifiers": "bob"})
    assert clean is None
    assert errors == [
        {
            "field": "identifiers.email",
            "message": "'identifiers' is not an object, so this field cannot be set",
        }
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([FieldSpec("a", "money")], "unknown type 'money'"),
        ([FieldSpec("a"), FieldSpec("a")], "defined twice"),
        ([FieldSpec("a"), FieldSpec("a.b")], "inside field 'a'"),
        ([FieldSpec("a..b")], "empty part"),
        ([FieldSpec("n", "integer", default="many")], "the default 'many' is not a whole number"),
    ],
)
def test_it_refuses_a_schema_that_cannot_work(fields, message):
    with pytest.raises(ValueError, match=message):
        CompiledSchema(fields)


def test_it_reads_and_writes_dotted_paths():
    record: dict = {"items": [{"sku": "A1"}], "a": {"b": 1}}
    assert get_path(record, "items.0.sku") == "A1"
    assert get_path(record, "items.5.sku", "none") == "none"
    # A negative index counts from the end: Stripe's next cursor is the last item's id.
    assert get_path({"data": [{"id": "a"}, {"id": "b"}]}, "data.-1.id") == "b"
    assert get_path({"data": []}, "data.-1.id") is None
    assert get_path({"data": [{"id": "a"}]}, "data.-2.id") is None
    assert get_path(record, "a.b.c") is None
    set_path(record, "x.y.z", 2)
    assert record["x"] == {"y": {"z": 2}}
    with pytest.raises(ValueError, match=r"'a\.b' is not an object"):
        set_path(record, "a.b.c", 3)


def test_it_builds_field_specs_from_the_api_form_and_back():
    spec = FieldSpec.from_dict({"name": "identifiers.email", "type": "email", "required": True})
    assert spec == FieldSpec("identifiers.email", "email", required=True)
    assert spec.to_dict() == {"name": "identifiers.email", "type": "email", "required": True}


def test_it_reads_a_flat_csv_header_as_the_nested_field_it_names():
    schema = CompiledSchema([FieldSpec("identifiers.email", "email", required=True)])
    assert schema.validate({"identifiers.email": " a@b.co", "x": "1"}) == (
        {"x": "1", "identifiers": {"email": "a@b.co"}},
        [],
    )
