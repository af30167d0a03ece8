from __future__ import annotations

import copy

import pytest

from connectors.schema import FieldSpec
from pipelines.mapping.compile import (
    MappingConfigError,
    MappingSpec,
    compile_mapping,
    suggest_mapping,
)

CUSTOMER_IO = [
    FieldSpec("id", "string", required=True),
    FieldSpec("campaign_id", "string", required=True),
    FieldSpec("identifiers.email", "email", required=True),
    FieldSpec("message_data.name", "string"),
    FieldSpec("message_data.amount", "number"),
]

ORDER_MAPPINGS = [
    MappingSpec(target="id", source="order_id"),
    MappingSpec(target="identifiers.email", source="Email", transforms=["trim", "lower"]),
    MappingSpec(target="message_data.name", template="{{ first_name }} {{ last_name }}"),
    MappingSpec(target="campaign_id", value="1234"),
    MappingSpec(target="message_data.amount", source="totals.gross"),
]


def test_it_maps_a_record_onto_the_destination_schema():
    mapping = compile_mapping(ORDER_MAPPINGS, CUSTOMER_IO)
    record = {
        "order_id": 17,
        "Email": "  Ann@Example.COM ",
        "first_name": "Ann",
        "last_name": "Lee",
        "totals": {"gross": "12.50"},
        "secret": "x",
    }
    assert mapping.map(record) == (
        {
            "id": "17",
            "identifiers": {"email": "ann@example.com"},
            "message_data": {"name": "Ann Lee", "amount": 12.5},
            "campaign_id": "1234",
        },
        [],
    )


def test_it_does_not_change_the_source_record():
    record = {"order_id": "1", "Email": " A@B.CO", "totals": {"gross": 1}}
    before = copy.deepcopy(record)
    compile_mapping(ORDER_MAPPINGS, CUSTOMER_IO).map(record)
    assert record == before


def test_it_reports_every_failing_destination_field():
    mapping = compile_mapping(ORDER_MAPPINGS, CUSTOMER_IO)
    clean, errors = mapping.map({"Email": "nobody", "totals": {"gross": "lots"}})
    assert clean is None
    assert errors == [
        {"field": "id", "message": "This field is required."},
        {"field": "identifiers.email", "message": "'nobody' is not an email address"},
        {"field": "message_data.amount", "message": "'lots' is not a number"},
    ]


def test_it_reports_a_transform_error_against_its_field():
    destination = [FieldSpec("quantity", "integer"), FieldSpec("sku")]
    mapping = compile_mapping(
        [MappingSpec(target="quantity", source="qty", transforms=["to_integer"])], destination
    )
    assert mapping.map({"qty": "three", "sku": "A1"}) == (
        None,
        [{"field": "quantity", "message": "'three' is not a whole number"}],
    )


def test_it_reports_a_template_error_against_its_field():
    destination = [FieldSpec("label")]
    mapping = compile_mapping([MappingSpec(target="label", template="{{ 'a' * n }}")], destination)
    clean, errors = mapping.map({"n": 10**9})
    assert clean is None
    assert errors[0]["field"] == "label"


def test_it_auto_maps_same_and_similarly_named_fields():
    destination = [
        FieldSpec("first_name", required=True),
        FieldSpec("last_name"),
        FieldSpec("address.city"),
        FieldSpec("zip_code"),
    ]
    mapping = compile_mapping([], destination)
    record = {
        "First Name": "Ann",
        "last-name": "Lee",
        "address": {"city": "Oslo"},
        "ZipCode": "0150",
    }
    assert mapping.map(record) == (
        {"first_name": "Ann", "last_name": "Lee", "address": {"city": "Oslo"}, "zip_code": "0150"},
        [],
    )


def test_it_prefers_the_exact_name_when_auto_mapping():
    mapping = compile_mapping([], [FieldSpec("email")])
    assert mapping.map({"Email": "upper@x.co", "email": "exact@x.co"}) == (
        {"email": "exact@x.co"},
        [],
    )


def test_it_reads_a_flat_csv_header_for_a_dotted_field():
    mapping = compile_mapping(
        [MappingSpec(target="message_data.amount", source="totals.gross")],
        [FieldSpec("identifiers.email", "email"), FieldSpec("message_data.amount", "number")],
    )
    assert mapping.map({"identifiers.email": "a@b.co", "totals.gross": "3"}) == (
        {"identifiers": {"email": "a@b.co"}, "message_data": {"amount": 3}},
        [],
    )


def test_it_reads_list_items_by_position():
    mapping = compile_mapping([MappingSpec(target="sku", source="items.0.sku")], [FieldSpec("sku")])
    assert mapping.map({"items": [{"sku": "A1"}, {"sku": "B2"}]}) == ({"sku": "A1"}, [])


def test_it_gives_templates_the_whole_record_as_record():
    mapping = compile_mapping(
        [MappingSpec(target="label", template="{{ record['Full Name'] }}/{{ record.id }}")],
        [FieldSpec("label")],
    )
    assert mapping.map({"Full Name": "Ann Lee", "id": 3}) == ({"label": "Ann Lee/3"}, [])


def test_it_treats_an_empty_template_result_as_missing():
    mapping = compile_mapping(
        [MappingSpec(target="nick", template="{{ nickname }}")], [FieldSpec("nick", required=True)]
    )
    assert mapping.map({}) == (None, [{"field": "nick", "message": "This field is required."}])


def test_it_accepts_constant_none_as_a_deliberately_empty_value():
    destination = [FieldSpec("status", default="new"), FieldSpec("tags", "json")]
    mapping = compile_mapping(
        [MappingSpec(target="status", value=None), MappingSpec(target="tags", value=["a"])],
        destination,
    )
    first, _ = mapping.map({"status": "ignored"})
    assert first == {"status": "new", "tags": ["a"]}
    first["tags"].append("b")
    assert mapping.map({})[0]["tags"] == ["a"]


def test_it_keeps_fields_outside_the_destination_from_reaching_it():
    mapping = compile_mapping([], [FieldSpec("id")])
    assert mapping.map({"id": "1", "password": "hunter2"}) == ({"id": "1"}, [])


def test_it_rejects_a_record_that_is_not_an_object():
    mapping = compile_mapping([], [FieldSpec("id")])
    assert mapping.map(["id"]) == (
        None,
        [{"field": "", "message": "A record must be an object, not a list."}],
    )


def test_it_builds_mappings_from_their_api_form():
    mapping = compile_mapping(
        [
            {"target": "id", "source": "order_id"},
            {"target": "email", "source": "Email", "transforms": ["lower"]},
            {"target": "kind", "value": "order"},
        ],
        [FieldSpec("id"), FieldSpec("email", "email"), FieldSpec("kind")],
    )
    assert mapping.map({"order_id": "9", "Email": "A@B.CO"}) == (
        {"id": "9", "email": "a@b.co", "kind": "order"},
        [],
    )
    assert MappingSpec.from_dict({"target": "kind", "value": None}).to_dict() == {
        "target": "kind",
        "value": None,
    }


@pytest.mark.parametrize(
    ("mappings", "message"),
    [
        (
            [MappingSpec(target="nope", source="x")],
            "mapping 1 \\(target 'nope'\\): 'nope' is not a field of the destination",
        ),
        (
            [MappingSpec(target="id", source="a"), MappingSpec(target="id", source="b")],
            "mapping 2 \\(target 'id'\\): 'id' is mapped twice",
        ),
        ([MappingSpec(target="id")], "give exactly one of source, template or value"),
        (
            [MappingSpec(target="id", source="a", value="b")],
            "give exactly one of source, template or value",
        ),
        (
            [MappingSpec(target="id", source="a", transforms=["shout"])],
            "mapping 1 \\(target 'id'\\): unknown transform 'shout'",
        ),
        (
            [MappingSpec(target="id", template="{{ a }")],
            "mapping 1 \\(target 'id'\\): template line 1: unexpected '}'",
        ),
        ([{"target": "id", "sorce": "a"}], "unknown key\\(s\\) sorce"),
        ([{"source": "a"}], "needs a 'target'"),
    ],
)
def test_it_refuses_a_mapping_that_cannot_work_and_says_which(mappings, message):
    with pytest.raises(MappingConfigError, match=message):
        compile_mapping(mappings, [FieldSpec("id")])


def test_it_refuses_a_destination_schema_that_cannot_work():
    with pytest.raises(MappingConfigError, match="destination schema: field 'a' is defined twice"):
        compile_mapping([], [FieldSpec("a"), FieldSpec("a")])


def test_it_suggests_a_mapping_by_same_or_normalised_name():
    suggestion = suggest_mapping(
        ["Email", "First Name", "id", "created"], ["id", "email", "first_name", "last_name"]
    )
    assert suggestion == {"id": "id", "email": "Email", "first_name": "First Name"}
