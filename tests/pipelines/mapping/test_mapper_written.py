"""The mapper written for a pipeline answers exactly as its steps do, one by one."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.schema import CoercionError, FieldSpec
from connectors.templating import TemplateError
from pipelines.mapping.compile import UNMAPPABLE_MESSAGE, CompiledMapping, compile_mapping
from pipelines.mapping.transforms import TransformError

SOURCE = [
    FieldSpec("id", "integer", required=True),
    FieldSpec("email", "email"),
    FieldSpec("when", "datetime"),
    FieldSpec("note", "string"),
    FieldSpec("tags", "json"),
]
DESTINATION = [
    FieldSpec("customer_id", "string", required=True),
    FieldSpec("email", "email", required=True),
    FieldSpec("when", "datetime"),
    FieldSpec("note", "string", required=True),
    FieldSpec("tags", "json"),
    FieldSpec("first_tag", "integer"),
    FieldSpec("kind", "string", default="person"),
    FieldSpec("customer.name", "string"),
    FieldSpec("greeting", "string"),
    FieldSpec("plan", "string"),
]
MAPPING = compile_mapping(
    [
        {"target": "customer_id", "source": "id"},
        {"target": "email", "source": "email", "transforms": ["trim", "lower"]},
        {"target": "first_tag", "source": "tags.0", "transforms": ["to_integer"]},
        {"target": "customer.name", "source": "note", "transforms": ["truncate:4"]},
        {"target": "greeting", "template": "Hello {{ note }}"},
        {"target": "plan", "value": "free"},
    ],
    DESTINATION,
    validated_by=SOURCE,
)

values = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["a@b.co", " A@B.co ", "2024-05-01T09:30:00Z", "7"]),
    st.lists(st.integers() | st.text(max_size=3), max_size=3),
)
records = st.dictionaries(
    st.sampled_from(["id", "email", "when", "note", "tags", "kind", "First Tag", "extra"]), values
)


def step_by_step(mapping: CompiledMapping, record: dict) -> tuple:
    """The reference: each step in turn, as mapping was before it was written out."""
    out: dict = {}
    errors: list[dict] = []
    for target, produce, fill in mapping._steps:
        if produce is None:
            value = record.get(target)
            if value is None or value == "":
                if fill:
                    errors.append({"field": target, "message": "This field is required."})
            else:
                out[target] = value
            continue
        try:
            fill(produce(record), out)
        except (CoercionError, TransformError, TemplateError) as exc:
            errors.append({"field": target, "message": str(exc)})
        except Exception:
            errors.append({"field": target, "message": UNMAPPABLE_MESSAGE})
    return (None, errors) if errors else (out, errors)


@settings(max_examples=400, deadline=None)
@given(records)
@example({"id": 5, "email": " A@B.co ", "note": "x", "tags": ["3"]})
@example({"id": 5, "email": "a@b.co", "note": "", "tags": [{"a": 1}]})
def test_it_answers_as_the_steps_do(record):
    assert MAPPING.map(record) == step_by_step(MAPPING, record)


def test_every_kind_of_step_is_taken():
    kinds: dict[str, Any] = {
        target: (produce is None, fill) for target, produce, fill in MAPPING._steps
    }
    assert kinds["when"] == (True, False)  # copied as validated, optional
    assert kinds["note"] == (True, True)  # copied as validated, required
    assert not kinds["customer_id"][0]  # coerced: another type
    assert MAPPING.map({"id": 5, "email": "A@b.co", "note": "Zoë and co", "tags": [2]}) == (
        {
            "customer_id": "5",
            "email": "a@b.co",
            "note": "Zoë and co",
            "tags": [2],
            "first_tag": 2,
            "kind": "person",
            "customer": {"name": "Zoë "},
            "greeting": "Hello Zoë and co",
            "plan": "free",
        },
        [],
    )
