from __future__ import annotations

from connectors.schema import FieldSpec, infer_schema


def test_it_infers_the_narrowest_type_from_csv_text():
    rows = [
        {
            "id": "1",
            "price": "9.99",
            "active": "yes",
            "born": "1990-01-31",
            "seen": "2024-05-01T10:00:00Z",
            "email": "a@example.com",
            "site": "https://a.example",
            "note": "hi",
        },
        {
            "id": "2",
            "price": "10",
            "active": "No",
            "born": "1985-12-01",
            "seen": "2024-05-02 11:00",
            "email": "b@example.com",
            "site": "http://b.example",
            "note": "42",
        },
    ]
    assert [(f.name, f.type) for f in infer_schema(rows)] == [
        ("id", "integer"),
        ("price", "number"),
        ("active", "boolean"),
        ("born", "date"),
        ("seen", "datetime"),
        ("email", "email"),
        ("site", "url"),
        ("note", "string"),
    ]


def test_it_widens_dates_mixed_with_datetimes_to_datetime():
    rows = [{"at": "2024-05-01"}, {"at": "2024-05-01T10:00:00+02:00"}]
    assert infer_schema(rows) == [FieldSpec("at", "datetime", required=True)]


def test_it_flattens_nested_objects_and_treats_lists_as_json():
    records = [
        {"id": 1, "customer": {"email": "a@example.com", "vip": True}, "tags": ["x"]},
        {"id": 2, "customer": {"email": "b@example.com"}, "tags": []},
    ]
    assert infer_schema(records) == [
        FieldSpec("id", "integer", required=True),
        FieldSpec("customer.email", "email", required=True),
        FieldSpec("customer.vip", "boolean", required=False),
        FieldSpec("tags", "json", required=True),
    ]


def test_it_marks_required_only_what_every_sample_fills():
    rows = [{"a": "1", "b": "x"}, {"a": "2", "b": ""}, {"a": "3", "c": "late"}]
    assert infer_schema(rows) == [
        FieldSpec("a", "integer", required=True),
        FieldSpec("b", "string", required=False),
        FieldSpec("c", "string", required=False),
    ]


def test_it_falls_back_to_json_for_values_of_mixed_shapes():
    records = [{"v": {"a": 1}}, {"v": "text"}, {"w": None}]
    assert infer_schema(records) == [FieldSpec("v", "json"), FieldSpec("w", "string")]


def test_it_infers_json_numbers_and_booleans():
    records = [{"n": 1, "x": 1.5, "ok": False}, {"n": 2, "x": 2, "ok": True}]
    assert [(f.name, f.type) for f in infer_schema(records)] == [
        ("n", "integer"),
        ("x", "number"),
        ("ok", "boolean"),
    ]


def test_it_proposes_nothing_without_object_samples():
    assert infer_schema([]) == []
    assert infer_schema([1, "a", None]) == []


def test_it_keeps_flat_dotted_headers_and_drops_the_nested_duplicate():
    records = [{"a.b": "1", "a": {"b": 2, "c": "x"}, "d.e": {"f": 1}}]
    assert infer_schema(records) == [
        FieldSpec("a.b", "integer", required=True),
        FieldSpec("a.c", "string", required=True),
        FieldSpec("d.e", "json", required=True),
    ]


def test_it_tells_numbers_from_text_as_before():
    samples = [{"a": "1", "b": "12.", "c": "-.5e3", "d": "1.2.3", "e": "1e", "f": "+3.25E-2"}]

    assert {spec.name: spec.type for spec in infer_schema(samples)} == {
        "a": "integer",
        "b": "number",
        "c": "number",
        "d": "string",
        "e": "string",
        "f": "number",
    }
