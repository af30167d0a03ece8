"""A connector's record schema as JSON Schema (draft 2020-12), for senders and consumers.

Two readings of one field list, because the ingest validator coerces (connectors/schema.py):

- `accepted_schema`: what an ingest endpoint accepts. "42" for an integer, " yes " for a
  boolean, null or "" for a missing optional field: every value `coerce` takes is described,
  so a record this schema accepts is never rejected by the endpoint, and the usual spellings
  the endpoint reads are not refused by the schema either. Unknown fields are always
  accepted (kept or dropped, per the connector's `drop_unknown_fields`).
- `emitted_schema`: what a mailbox hands out: the coerced, canonical values (strict types,
  no nulls, only the schema's fields).

Patterns are written for both ECMA 262 and Python `re` (no `\\s`, `\\d` or flags: the two
disagree on them), and only claim what the coercers check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.schema import MAX_INTEGER_DIGITS, CoercionError, FieldSpec, coerce

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Exactly what Python's str.strip() strips (str.isspace), spelled for both regex engines.
_WS = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
_PAD = f"[{_WS}]*"
# float() reads through the same blanks but the four information separators \x1c-\x1f.
_NUMBER_PAD = (
    "[\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*"
)

# Calendar dates, leap years included: date.fromisoformat's "YYYY-MM-DD", years 0001 to 9999.
_LEAP_YEAR = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    "((?!0000)[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    "|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
    f"|{_LEAP_YEAR}-02-29)"
)
_HOUR, _MINUTE = "([01][0-9]|2[0-3])", "[0-5][0-9]"
_SENT_OFFSET = f"(Z|[+-]{_HOUR}(:{_MINUTE}(:{_MINUTE}(\\.[0-9]+)?)?|{_MINUTE}({_MINUTE})?)?)"
_SENT_TIME = f"{_HOUR}(:{_MINUTE}(:{_MINUTE}([.,][0-9]+)?)?)?{_SENT_OFFSET}?"
_CANONICAL_TIME = (
    f"{_HOUR}:{_MINUTE}:{_MINUTE}(\\.[0-9]{{6}})?"
    f"([+-]{_HOUR}:{_MINUTE}(:{_MINUTE}(\\.[0-9]{{6}})?)?)?"
)
_EMAIL = f"[^@{_WS}]+@[^@{_WS}.]+(\\.[^@{_WS}.]+)+"
# An ASCII host (urlsplit refuses some non-ASCII ones), any port digits, then anything but blanks.
_URL_SENT = (
    "[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?"
    f"[A-Za-z0-9._~%!$&'()*+,;=-]+(:[0-9]*)?([/?#][^{_WS}]*)?"
)
_URL_CANONICAL = f"[Hh][Tt][Tt][Pp][Ss]?://[^{_WS}]+"
_BOOLEAN_WORDS = (
    "[Tt][Rr][Uu][Ee]|[Yy]([Ee][Ss])?|[Oo][Nn]|1|[Ff][Aa][Ll][Ss][Ee]|[Nn][Oo]?|[Oo][Ff][Ff]|0"
)
# The digits coercion takes (MAX_INTEGER_DIGITS); "42.0" and "42." are whole numbers.
_INTEGER_TEXT = f"[+-]?[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\\.0*)?"
# Far from float's overflow (1.8e308): a longer text may be read as infinity, and refused.
_NUMBER_TEXT = "[+-]?([0-9]{1,200}(\\.[0-9]*)?|\\.[0-9]{1,200})([eE][+-]?[0-9]{1,2})?"


def _text(pattern: str, padded: bool = True, pad: str = _PAD) -> dict[str, Any]:
    if padded:
        return {"type": "string", "pattern": f"^{pad}{pattern}{pad}$"}
    return {"type": "string", "pattern": f"^{pattern}$"}


def _accepted_value(type_name: str) -> list[dict[str, Any]]:
    """The alternatives `coerce(type_name, value)` takes, for a value that is not missing."""
    if type_name == "string":
        return [{"type": "string", "minLength": 1}, {"type": ["number", "boolean"]}]
    if type_name == "integer":
        return [{"type": "integer"}, _text(_INTEGER_TEXT)]
    if type_name == "number":
        return [{"type": "number"}, _text(_NUMBER_TEXT, pad=_NUMBER_PAD)]
    if type_name == "boolean":
        return [{"type": "boolean"}, {"enum": [0, 1]}, _text(f"({_BOOLEAN_WORDS})")]
    if type_name == "date":
        return [_text(_DATE)]
    if type_name == "datetime":
        return [_text(f"{_DATE}([Tt ]{_SENT_TIME})?")]
    if type_name == "email":
        return [{**_text(_EMAIL), "maxLength": 254}]
    if type_name == "url":
        return [_text(_URL_SENT)]
    return [{"not": {"enum": [None, ""]}}]  # json: any value


def _emitted_value(type_name: str) -> dict[str, Any]:
    """The one form `coerce(type_name, ...)` returns."""
    return {
        "string": {"type": "string", "minLength": 1},
        "integer": {"type": "integer"},
        "number": {"type": "number"},
        "boolean": {"type": "boolean"},
        "date": {**_text(_DATE, padded=False), "format": "date"},
        "datetime": _text(f"{_DATE}T{_CANONICAL_TIME}", padded=False),
        "email": {**_text(_EMAIL, padded=False), "maxLength": 254},
        "url": _text(_URL_CANONICAL, padded=False),
        "json": {"not": {"enum": [None, ""]}},
    }[type_name]


_ACCEPTED_HINTS = {
    "integer": 'A whole number; text such as "42" or "42.0" is read as one.',
    "number": 'A number; text such as "3.5" or "1e3" is read as one.',
    "boolean": "true/false; also 1/0 and the words yes/no, y/n, on/off, true/false.",
    "date": "A date, YYYY-MM-DD.",
    "datetime": "ISO 8601 date and time; the offset is kept as sent, none means local time.",
    "email": "An email address.",
    "url": "An http:// or https:// address.",
    "json": "Any JSON value.",
}
_EMITTED_HINTS = {
    "date": "A date, YYYY-MM-DD.",
    "datetime": (
        "ISO 8601, YYYY-MM-DDTHH:MM:SS with microseconds when there are any, and the "
        "sender's offset when it gave one."
    ),
    "json": 'Any JSON value but null and "".',
}


def _default(spec: FieldSpec) -> tuple[bool, Any]:
    """(has a default, the default as the field's canonical value), as CompiledSchema reads it."""
    if spec.default is None or spec.default == "":
        return False, None
    try:
        return True, coerce(spec.type, spec.default)
    except CoercionError:
        return False, None


def _annotate(schema: dict[str, Any], spec: FieldSpec, hints: dict[str, str]) -> dict[str, Any]:
    description = " ".join(part for part in (spec.description, hints.get(spec.type, "")) if part)
    if description:
        schema["description"] = description
    has_default, default = _default(spec)
    if has_default:
        schema["default"] = default
    return schema


def _accepted_field(spec: FieldSpec) -> tuple[dict[str, Any], bool]:
    """(the field's value schema, whether the record must carry it)."""
    has_default, _ = _default(spec)
    must = spec.required and not has_default
    alternatives = _accepted_value(spec.type)
    if not must:
        # Null and "" mean "missing": the default applies, or the field is left out.
        alternatives = [*alternatives, {"enum": [None, ""]}]
    schema = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    return _annotate(dict(schema), spec, _ACCEPTED_HINTS), must


def _emitted_field(spec: FieldSpec) -> tuple[dict[str, Any], bool]:
    has_default, _ = _default(spec)
    schema = _annotate(dict(_emitted_value(spec.type)), spec, _EMITTED_HINTS)
    return schema, spec.required or has_default


def _tree(fields: Sequence[FieldSpec], field_schema) -> tuple[dict, list[str]]:
    """Properties and required names of one object level, dotted names nested."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    children: dict[str, list[FieldSpec]] = {}
    for spec in fields:
        head, dot, rest = spec.name.partition(".")
        if dot:
            if head not in children:
                children[head] = []
                properties[head] = None  # keeps the order of first appearance
            children[head].append(
                FieldSpec(rest, spec.type, spec.required, spec.default, spec.description)
            )
            continue
        properties[head], must = field_schema(spec)
        if must:
            required.append(head)
    for head, nested in children.items():
        inner, inner_required = _tree(nested, field_schema)
        properties[head] = {"type": "object", "properties": inner}
        if inner_required:
            properties[head]["required"] = inner_required
            required.append(head)
    return properties, [name for name in properties if name in required]


def _finish(properties, required, *, extra) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = extra
    return schema


def _close(schema: dict[str, Any], extra: Any, *, nullable: bool, min_one: bool) -> None:
    """Set unknown-field handling on every nested object; null where a parent may be null."""
    for value in schema["properties"].values():
        if value.get("type") == "object" and "properties" in value:
            _close(value, extra, nullable=nullable, min_one=min_one)
            value["additionalProperties"] = extra
            if min_one:
                value["minProperties"] = 1
            if nullable and "required" not in value:
                value["type"] = ["object", "null"]


def accepted_schema(
    fields: Sequence[FieldSpec], *, drop_unknown: bool = False, title: str = ""
) -> dict[str, Any]:
    """JSON Schema of one record an ingest endpoint with these fields accepts."""
    properties, required = _tree(fields, _accepted_field)
    extra: Any = (
        {"description": "Not in the schema: accepted, and dropped."} if drop_unknown else True
    )
    schema = _finish(properties, required, extra=extra)
    _close(schema, extra, nullable=True, min_one=False)
    # The flat spelling of a nested field (a CSV header "customer.name") is read when the
    # nested value is missing, so it is described with the same rules.
    for spec in fields:
        if "." in spec.name:
            flat, _ = _accepted_field(
                FieldSpec(spec.name, spec.type, False, spec.default, spec.description)
            )
            properties.setdefault(spec.name, flat)
    unknown = "dropped" if drop_unknown else "kept and passed on"
    return {
        "$schema": DIALECT,
        **({"title": title} if title else {}),
        "description": (
            "One record as this endpoint accepts it. Values are coerced to the field types "
            f'(text is read as numbers, yes/no and dates); null or "" is a missing value. '
            f"Fields not in the schema are {unknown}."
        ),
        **schema,
    }


def emitted_schema(fields: Sequence[FieldSpec], *, title: str = "") -> dict[str, Any]:
    """JSON Schema of one record a mailbox with these fields hands out (`data` of a record)."""
    properties, required = _tree(fields, _emitted_field)
    schema = _finish(properties, required, extra=False)
    _close(schema, False, nullable=False, min_one=True)
    return {
        "$schema": DIALECT,
        **({"title": title} if title else {}),
        "description": (
            "One record as this mailbox hands it out: values in their canonical form, missing "
            "optional fields left out (never null), only the schema's fields."
        ),
        **schema,
    }
