"""Records that passed the source schema are not coerced twice, and nothing else changes."""

from __future__ import annotations

from connectors.schema import FieldSpec
from pipelines.mapping.compile import compile_mapping


def test_a_same_named_field_of_the_same_type_is_taken_as_it_is():
    destination = [FieldSpec("n", "integer", required=True), FieldSpec("when", "datetime")]
    source = [FieldSpec("n", "integer"), FieldSpec("when", "datetime")]
    mapping = compile_mapping([], destination, validated_by=source)
    assert mapping.map({"n": 5, "when": "2026-01-02T03:04:05+00:00"}) == (
        {"n": 5, "when": "2026-01-02T03:04:05+00:00"},
        [],
    )
    assert mapping.map({}) == (None, [{"field": "n", "message": "This field is required."}])


def test_a_field_of_another_type_is_still_coerced():
    mapping = compile_mapping(
        [], [FieldSpec("n", "integer")], validated_by=[FieldSpec("n", "string")]
    )
    assert mapping.map({"n": "5"}) == ({"n": 5}, [])
    out, errors = mapping.map({"n": "five"})
    assert out is None and errors[0]["field"] == "n"


def test_a_mapped_field_is_still_transformed_and_coerced():
    mapping = compile_mapping(
        [{"target": "n", "source": "n", "transforms": ["digits_only"]}],
        [FieldSpec("n", "integer")],
        validated_by=[FieldSpec("n", "integer")],
    )
    assert mapping.map({"n": 1234}) == ({"n": 1234}, [])


def test_without_a_validated_source_values_are_coerced(orders, api):
    from tests.helpers import make_connector, make_pipeline

    box = make_connector("mailbox", "Box", [{"name": "order_id", "type": "integer"}])
    pipeline = make_pipeline(orders, box)
    preview = api.post(
        f"/api/v1/pipelines/{pipeline.pk}/preview/",
        {"records": [{"order_id": "42"}]},
        format="json",
    ).json()
    assert preview["records"] == [{"order_id": 42}]


def test_a_record_of_exactly_the_destination_fields_maps_to_an_equal_copy():
    fields = [FieldSpec("a", "integer"), FieldSpec("b", "string")]
    mapping = compile_mapping([], fields, validated_by=fields)
    record = {"a": 1, "b": "x"}
    out, errors = mapping.map(record)
    assert (out, errors) == ({"a": 1, "b": "x"}, [])
    out["a"] = 2  # the output is the destination's own: changing it leaves the source alone
    assert record == {"a": 1, "b": "x"}


def test_other_shapes_still_come_out_in_the_destination_order_without_extra_fields():
    fields = [FieldSpec("a", "integer"), FieldSpec("b", "string")]
    mapping = compile_mapping([], fields, validated_by=fields)
    out, _ = mapping.map({"b": "x", "a": 1})
    assert list(out.items()) == [("a", 1), ("b", "x")]
    assert mapping.map({"a": 1, "b": "x", "extra": True}) == ({"a": 1, "b": "x"}, [])
    assert mapping.map({"a": 1}) == ({"a": 1}, [])


def test_a_record_of_the_destination_shape_does_not_change_how_the_next_ones_map():
    fields = [FieldSpec("a", "integer"), FieldSpec("b", "string")]
    mapping = compile_mapping([], fields, validated_by=fields)
    assert mapping.map({"a": 1, "b": "x"}) == ({"a": 1, "b": "x"}, [])
    out, _ = mapping.map({"b": "y", "a": 2})
    assert list(out.items()) == [("a", 2), ("b", "y")]
    assert mapping.map({"a": 3, "b": "z", "extra": True}) == ({"a": 3, "b": "z"}, [])
    assert list(mapping.map({"a": 4, "b": "w"})[0].items()) == [("a", 4), ("b", "w")]


# Written out by the editor's suggestions, a plain copy of a validated field is as common as
# an unmapped one: a datetime the source schema already checked keeps its spelling ("Z").


def test_a_mapping_that_copies_a_field_of_the_same_type_takes_it_as_it_is():
    destination = [FieldSpec("when", "datetime", required=True), FieldSpec("at", "datetime")]
    source = [FieldSpec("when", "datetime"), FieldSpec("placed", "datetime")]
    mapping = compile_mapping(
        [{"target": "when", "source": "when"}, {"target": "at", "source": "placed"}],
        destination,
        validated_by=source,
    )
    record = {"when": "2026-01-02T03:04:05Z", "placed": "2026-01-03T00:00:00Z"}
    assert mapping.map(record) == (
        {"when": "2026-01-02T03:04:05Z", "at": "2026-01-03T00:00:00Z"},
        [],
    )
    assert mapping.map({"placed": "2026-01-03T00:00:00Z"}) == (
        None,
        [{"field": "when", "message": "This field is required."}],
    )


def test_a_copy_into_another_type_or_from_an_unchecked_field_is_still_coerced():
    destination = [FieldSpec("customer_id", "string"), FieldSpec("at", "datetime")]
    mapping = compile_mapping(
        [{"target": "customer_id", "source": "id"}, {"target": "at", "source": "extra"}],
        destination,
        validated_by=[FieldSpec("id", "integer")],
    )
    assert mapping.map({"id": 5, "extra": "2026-01-03T00:00:00Z"}) == (
        {"customer_id": "5", "at": "2026-01-03T00:00:00+00:00"},
        [],
    )


def test_a_copy_with_a_default_still_gets_it():
    mapping = compile_mapping(
        [{"target": "plan", "source": "tier"}],
        [FieldSpec("plan", "string", default="free")],
        validated_by=[FieldSpec("tier", "string")],
    )
    assert mapping.map({}) == ({"plan": "free"}, [])
    assert mapping.map({"tier": "team"}) == ({"plan": "team"}, [])
