"""Record schemas: coercing values to field types, validating records, inferring schemas.

Pure Python and no Django: the ingest hot path, the mapping engine and the
bench all use it. ``CompiledSchema`` turns each field into a small closure once,
so validating a record is a loop over those closures and nothing else.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "email", "url", "json")

REQUIRED_MESSAGE = "This field is required."

_MISSING: Any = object()

# The longest whole number text taken. JSON readers, ours included (orjson: the mailbox's CSV,
# a delivery's render), read a number beyond 64 bits as a double and refuse one that overflows
# it (about 1.8e308): "1e400" stored as its 401 digits was a record nobody could read back.
MAX_INTEGER_DIGITS = 308
_INTEGER_LIMIT = 10**MAX_INTEGER_DIGITS

# Bound once: the number coercer runs for every numeric field of every ingested record.
_NAN = math.nan
_isfinite = math.isfinite

_TRUE_WORDS = frozenset({"true", "yes", "y", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "n", "0", "off"})

# Deliberately loose: the only reliable check of an address is sending mail to it.
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


class CoercionError(ValueError):
    """A value does not fit a field type; the message is meant for the person who sent it."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    description: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> FieldSpec:
        """Build from the API's JSON form (``{"name": ..., "type": ..., ...}``)."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError("each field needs a name")
        if data.get("type", "string") not in FIELD_TYPES:
            raise ValueError(
                f"field '{data['name']}': unknown type {data.get('type')!r}; "
                f"use one of: {', '.join(FIELD_TYPES)}"
            )
        return cls(
            name=data["name"],
            type=data.get("type", "string"),
            required=bool(data.get("required", False)),
            default=data.get("default"),
            description=data.get("description", ""),
        )

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.default is not None:
            data["default"] = self.default
        if self.description:
            data["description"] = self.description
        return data


# --- paths -----------------------------------------------------------------


def get_path(record: Any, path: str | Sequence[str], default: Any = None) -> Any:
    """Read a dotted path (``identifiers.email``); a digit part indexes a list (``items.0.sku``),
    a negative one from its end (``data.-1.id``, the last item's id: Stripe's next cursor)."""
    current = record
    for part in path.split(".") if isinstance(path, str) else path:
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
            if current is _MISSING:
                return default
        elif isinstance(current, list) and part.isascii() and part.removeprefix("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return default
            current = current[index]
        else:
            return default
    return current


def set_path(record: dict, path: str | Sequence[str], value: Any) -> None:
    """Write a dotted path, creating the intermediate objects; refuses to overwrite a non-object."""
    parts = path.split(".") if isinstance(path, str) else path
    current = record
    for depth, part in enumerate(parts[:-1]):
        child = current.get(part)
        if child is None:
            child = current[part] = {}
        elif not isinstance(child, dict):
            prefix = ".".join(parts[: depth + 1])
            raise ValueError(f"'{prefix}' is not an object, so '{'.'.join(parts)}' cannot be set")
        current = child
    current[parts[-1]] = value


# --- coercion --------------------------------------------------------------


def describe(value: Any) -> str:
    """A value as a person would read it in an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, float) and not math.isfinite(value):
        return "infinity" if not math.isnan(value) else "NaN"
    return str(value)


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise CoercionError(f"{describe(value)} is not text")


def _integer_from_text(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = _decimal_integer(text)
    if not -_INTEGER_LIMIT < number < _INTEGER_LIMIT:
        raise _too_large(text)
    return number


def _decimal_integer(text: str) -> int:
    """What int() refuses: exponents ("1e3"), "42.0", more than Python's 4,300 digits."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CoercionError(f"{describe(text)} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise CoercionError(f"{describe(text)} is not a whole number")
    if number.adjusted() >= MAX_INTEGER_DIGITS:
        raise _too_large(text)
    return int(number)


def _too_large(text: str) -> CoercionError:
    return CoercionError(f"{describe(text)} is too large (at most {MAX_INTEGER_DIGITS} digits)")


def _bounded(number: int) -> int:
    """A whole number that JSON readers can read back (see MAX_INTEGER_DIGITS). Records parsed
    from JSON never carry a longer one; a mapping's constant or a field's default, set through
    the API, can."""
    if -_INTEGER_LIMIT < number < _INTEGER_LIMIT:
        return number
    # Not quoted: Python refuses to write an integer of more than 4,300 digits as text.
    raise CoercionError(f"the whole number is too large (at most {MAX_INTEGER_DIGITS} digits)")


def _to_integer(value: Any) -> int:
    kind = type(value)
    if kind is int:
        return _bounded(value)
    if kind is str:
        text = value.strip()
        # int() reads "1_000" as 1000, which a person would not expect.
        if not text or "_" in text:
            raise CoercionError(f"{describe(value)} is not a whole number")
        return _integer_from_text(text)
    if kind is float and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _bounded(int(value))
    raise CoercionError(f"{describe(value)} is not a whole number")


def _to_number(value: Any) -> int | float:
    kind = type(value)
    if kind is int:
        return _bounded(value)
    if kind is float:
        if math.isfinite(value):
            return value
        raise CoercionError(f"{describe(value)} is not a number")
    if kind is str:
        # float() ignores surrounding blanks but reads "1_0" as 10, which a person would not.
        try:
            number = float(value) if "_" not in value else _NAN
        except ValueError:
            number = _NAN
        if _isfinite(number):
            if number.is_integer() and "." not in value and "e" not in value.lower():
                return int(value)  # exact, where float would round beyond 2**53
            return number
        raise CoercionError(f"{describe(value)} is not a number")
    if isinstance(value, int) and not isinstance(value, bool):
        return _bounded(int(value))
    if isinstance(value, float):
        return _to_number(float(value))
    raise CoercionError(f"{describe(value)} is not a number")


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    elif type(value) is int and value in (0, 1):
        return bool(value)
    raise CoercionError(f"{describe(value)} is not yes or no (use true/false, yes/no or 1/0)")


def _to_date(value: Any) -> str:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    raise CoercionError(f"{describe(value)} is not a date (use YYYY-MM-DD)")


# Text that `datetime.isoformat()` would write back unchanged once `fromisoformat` reads it, or
# with "+00:00" for a final "Z": most senders' forms. Writing costs several times the parse
# (isoformat with an offset, about 1 µs), so such text is only checked, then kept. Not
# matched, hence rewritten: zero microseconds (".000000", which isoformat leaves out),
# "-00:00" (written "+00:00"), hour 24 (the next day's midnight to newer Pythons), offsets
# beyond 23:59.
_WRITTEN_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.(?!000000)[0-9]{6})?(?:(?!-00:00)[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]|(Z))?"
)
_as_written_datetime = _WRITTEN_DATETIME.fullmatch
_datetime_from_text = datetime.fromisoformat


def _to_datetime(value: Any) -> str:
    """ISO 8601, keeping the offset given ("Z" becomes "+00:00"); a bare date means midnight."""
    if type(value) is str and (written := _as_written_datetime(value)) is not None:
        try:
            _datetime_from_text(value)  # still refuses what cannot be (month 13, February 30)
        except ValueError:
            pass
        else:
            return value if written.lastindex is None else value[:-1] + "+00:00"
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    elif isinstance(value, datetime):
        return value.isoformat()
    raise CoercionError(
        f"{describe(value)} is not a date and time (use ISO 8601, e.g. 2024-05-01T09:30:00Z)"
    )


def _to_email(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= 254 and _EMAIL_RE.fullmatch(text):
            return text
    raise CoercionError(f"{describe(value)} is not an email address")


def _to_url(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        try:
            parts = urlsplit(text)
            host = parts.hostname
        except ValueError:
            host = None
        if host and parts.scheme in ("http", "https") and not any(c.isspace() for c in text):
            return text
    raise CoercionError(
        f"{describe(value)} is not a web address (it must start with http:// or https://)"
    )


def _to_json(value: Any) -> Any:
    return value


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "string": _to_string,
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "date": _to_date,
    "datetime": _to_datetime,
    "email": _to_email,
    "url": _to_url,
    "json": _to_json,
}


def coerce(type_name: str, value: Any) -> Any:
    """Turn ``value`` into the JSON value of ``type_name``, or raise CoercionError.

    Lenient where a person would be (CSV cells are text: "42", " yes ",
    "42.0" are a whole number and a yes), strict where it matters (1.5 and
    true are not whole numbers, NaN is not a number, a URL needs http(s) and a host).
    """
    try:
        coercer = _COERCERS[type_name]
    except KeyError:
        raise ValueError(f"unknown field type {type_name!r}") from None
    return coercer(value)


# --- validation ------------------------------------------------------------

Filler = Callable[[Any, dict], None]


def _check_fields(fields: Sequence[FieldSpec]) -> None:
    names = set()
    for spec in fields:
        if not spec.name or any(not part for part in spec.name.split(".")):
            raise ValueError(f"field name {spec.name!r} is empty or has an empty part")
        if spec.type not in _COERCERS:
            raise ValueError(
                f"field '{spec.name}': unknown type '{spec.type}'; use one of: {', '.join(FIELD_TYPES)}"
            )
        if spec.name in names:
            raise ValueError(f"field '{spec.name}' is defined twice")
        names.add(spec.name)
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts)):
            if ".".join(parts[:depth]) in names:
                raise ValueError(
                    f"field '{name}' is inside field '{'.'.join(parts[:depth])}'; keep one of them"
                )


def _compiled_default(spec: FieldSpec) -> Callable[[], Any] | None:
    if spec.default is None or spec.default == "":
        return None
    try:
        value = coerce(spec.type, spec.default)
    except CoercionError as exc:
        raise ValueError(f"field '{spec.name}': the default {exc}") from None
    if isinstance(value, dict | list):
        return lambda: copy.deepcopy(value)
    return lambda: value


def _already_typed(value: Any) -> Any:
    return value


def _top_level_filler(spec: FieldSpec, keep_unknown: bool, trusted: bool = False) -> Filler:
    key = spec.name
    coerce_value = _already_typed if trusted else _COERCERS[spec.type]
    make_default = _compiled_default(spec)
    required = spec.required

    def fill(value: Any, out: dict) -> None:
        if value is None or value == "":
            if make_default is not None:
                out[key] = make_default()
                return
            if keep_unknown:
                out.pop(key, None)
            if required:
                raise CoercionError(REQUIRED_MESSAGE)
            return
        out[key] = coerce_value(value)

    return fill


def _nested_filler(spec: FieldSpec, keep_unknown: bool, trusted: bool = False) -> Filler:
    name = spec.name
    parts = tuple(name.split("."))
    parents, leaf = parts[:-1], parts[-1]
    coerce_value = _already_typed if trusted else _COERCERS[spec.type]
    make_default = _compiled_default(spec)
    required = spec.required

    def container(out: dict) -> dict:
        current = out
        for depth, part in enumerate(parents):
            child = current.get(part)
            if child is None:
                child = current[part] = {}
            elif not isinstance(child, dict):
                prefix = ".".join(parts[: depth + 1])
                raise CoercionError(f"'{prefix}' is not an object, so this field cannot be set")
            current = child
        return current

    def fill(value: Any, out: dict) -> None:
        if keep_unknown:
            # The flat CSV spelling, if that is what was read, is replaced by the nested field.
            out.pop(name, None)
        if value is None or value == "":
            if make_default is not None:
                container(out)[leaf] = make_default()
                return
            if keep_unknown:
                holder = get_path(out, parents)
                if isinstance(holder, dict):
                    holder.pop(leaf, None)
            if required:
                raise CoercionError(REQUIRED_MESSAGE)
            return
        container(out)[leaf] = coerce_value(value)

    return fill


def _nested_reader(name: str) -> Callable[[dict], Any]:
    parts = tuple(name.split("."))

    def read(record: dict) -> Any:
        current: Any = record
        for part in parts:
            if not isinstance(current, dict):
                current = None
                break
            current = current.get(part)
        # A CSV header "identifiers.email" is the flat spelling of the nested field.
        return record.get(name) if current is None else current

    return read


class CompiledSchema:
    """A schema turned into one closure per field, ready to validate many records."""

    def __init__(self, fields: Sequence[FieldSpec], *, drop_unknown: bool = False) -> None:
        _check_fields(fields)
        self.fields = tuple(fields)
        self.drop_unknown = drop_unknown
        keep_unknown = not drop_unknown
        #: Per field name, ``fill(value, out)``: coerce a value already read (None or ""
        #: meaning missing) into ``out`` at the field's path, applying the default, or
        #: raise CoercionError. The mapping engine feeds mapped values through these.
        self.fillers: dict[str, Filler] = {
            spec.name: (_nested_filler if "." in spec.name else _top_level_filler)(
                spec, keep_unknown
            )
            for spec in fields
        }
        #: The same for values already coerced to the field's type (by a source schema whose
        #: field has this name and type): defaults and required still apply, coercion is skipped.
        self.trusted_fillers: dict[str, Filler] = {
            spec.name: (_nested_filler if "." in spec.name else _top_level_filler)(
                spec, keep_unknown, trusted=True
            )
            for spec in fields
        }
        # Nested objects the output writes into, shallowest first: copied per record
        # so that keeping unknown fields never mutates the caller's record.
        prefixes = {
            tuple(spec.name.split(".")[:depth])
            for spec in fields
            for depth in range(1, spec.name.count(".") + 1)
        }
        self._nested_prefixes = tuple(sorted(prefixes, key=len)) if keep_unknown else ()
        #: ``validate(record) -> (clean record, [])`` or ``(None, errors)`` with every
        #: field's error: a function written for this schema (see `_write_validator`).
        self.validate = _write_validator(self, keep_unknown)


UNREADABLE_MESSAGE = "This value could not be read."
# Per type, the test of a value `v` its coercion would return unchanged (and that is not
# missing): checked inline, so most fields of most records cost no call and no comparison
# with "". "json" keeps every value.
_KEPT_AS_IS = {
    "string": "type(v) is str and v",
    "integer": "type(v) is int and -LIMIT < v < LIMIT",
    "boolean": "type(v) is bool",
    "number": "type(v) is int and -LIMIT < v < LIMIT or type(v) is float and isfinite(v)",
    # The pattern refuses blanks anywhere, so a match is its own stripped text (`_to_email`).
    "email": "type(v) is str and len(v) <= 254 and is_email(v) is not None",
}


def _write_validator(schema: CompiledSchema, keep_unknown: bool) -> Callable[[Any], tuple]:
    """The validator of one schema, as Python source compiled once.

    Validation runs for every record received (a 1,000-record request validates 10,000
    fields): written out field by field, the loop, the call of a filler per field and its
    arguments are gone, and a top-level field's coercion is called directly. Field names
    and functions reach the code as variables, never as source text. Nested fields keep
    their filler (`_nested_filler`), which creates the objects they are written into.
    """
    names: dict[str, Any] = {
        "CoercionError": CoercionError,
        "REQUIRED": REQUIRED_MESSAGE,
        "UNREADABLE": UNREADABLE_MESSAGE,
        "not_an_object": not_an_object,
        "get_path": get_path,
        "prefixes": schema._nested_prefixes,
        "isfinite": _isfinite,
        "LIMIT": _INTEGER_LIMIT,
        "is_email": _EMAIL_RE.fullmatch,
    }
    lines = [
        "def validate(record):",
        "    if not isinstance(record, dict):",
        '        return None, [{"field": "", "message": not_an_object(record)}]',
    ]
    if schema.drop_unknown:
        lines.append("    out = {}")
    else:
        lines.append("    out = dict(record)")
    if schema._nested_prefixes:
        lines += [
            # Nested objects the output writes into are copied, so that keeping unknown
            # fields never mutates the caller's record.
            "    for prefix in prefixes:",
            "        parent = get_path(out, prefix[:-1])",
            "        if isinstance(parent, dict) and isinstance(parent.get(prefix[-1]), dict):",
            "            parent[prefix[-1]] = dict(parent[prefix[-1]])",
        ]
    lines += ["    get = record.get", "    errors = []"]
    for i, spec in enumerate(schema.fields):
        names[f"N{i}"] = spec.name
        lines.append("    try:")
        if "." in spec.name:
            names[f"R{i}"] = _nested_reader(spec.name)
            names[f"F{i}"] = schema.fillers[spec.name]
            lines.append(f"        F{i}(R{i}(record), out)")
        else:
            names[f"C{i}"] = _COERCERS[spec.type]
            lines.append(f"        v = get(N{i})")
            if spec.type in _KEPT_AS_IS:
                lines.append(f"        if {_KEPT_AS_IS[spec.type]}:")
                # Kept as is: `out`, a copy of the record, already holds it.
                lines.append(
                    f"            out[N{i}] = v" if not keep_unknown else "            pass"
                )
                lines.append('        elif v is None or v == "":')
            else:
                lines.append('        if v is None or v == "":')
            if (make_default := _compiled_default(spec)) is not None:
                names[f"D{i}"] = make_default
                lines.append(f"            out[N{i}] = D{i}()")
            else:
                if keep_unknown:
                    lines.append(f"            out.pop(N{i}, None)")
                lines.append(
                    f'            errors.append({{"field": N{i}, "message": REQUIRED}})'
                    if spec.required
                    else "            pass"
                )
            if spec.type != "json":
                lines += ["        else:", f"            out[N{i}] = C{i}(v)"]
            elif not keep_unknown:
                lines += ["        else:", f"            out[N{i}] = v"]
        lines += [
            "    except CoercionError as exc:",
            f'        errors.append({{"field": N{i}, "message": str(exc)}})',
            # A hostile record must be rejected, never crash ingest.
            "    except Exception:",
            f'        errors.append({{"field": N{i}, "message": UNREADABLE}})',
        ]
    lines += ["    if errors:", "        return None, errors", "    return out, errors"]
    exec(compile("\n".join(lines), f"<validator of {len(schema.fields)} fields>", "exec"), names)
    return names["validate"]


def not_an_object(record: Any) -> str:
    """The error for a record that is not a JSON object."""
    return f"A record must be an object, not {describe(record)}."


# --- inference -------------------------------------------------------------

# Narrowest first: the first type every sample fits wins.
_INFERENCE_ORDER = (
    "boolean",
    "integer",
    "number",
    "date",
    "datetime",
    "email",
    "url",
    "string",
    "json",
)
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
# Digits after a dot only: `[0-9]+\.?[0-9]*` split a run of digits every way before failing,
# 32 s of CPU (GIL held) for a source's value of 20,000 digits and an `x` in a test read.
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
# Only unmistakable words: "1"/"0" samples are more likely counts than flags.
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no"})


def _fits(type_name: str, value: Any) -> bool:
    try:
        _COERCERS[type_name](value)
    except CoercionError:
        return False
    return True


def _types_of(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {"boolean", "string", "json"}
    if isinstance(value, int):
        return {"integer", "number", "string", "json"}
    if isinstance(value, float):
        return {"number", "string", "json"} if math.isfinite(value) else {"string", "json"}
    if not isinstance(value, str):
        return {"json"}
    types = {"string", "json"}
    text = value.strip()
    if _INTEGER_TEXT.fullmatch(text):
        types |= {"integer", "number"}
    elif _NUMBER_TEXT.fullmatch(text) and _fits("number", text):
        types.add("number")
    elif text.lower() in _BOOLEAN_WORDS:
        types.add("boolean")
    elif _DATE_TEXT.fullmatch(text) and _fits("date", text):
        types |= {"date", "datetime"}
    elif _DATETIME_TEXT.fullmatch(text) and _fits("datetime", text):
        types.add("datetime")
    elif _fits("email", text):
        types.add("email")
    elif _fits("url", text):
        types.add("url")
    return types


def _infer_level(prefix: str, objects: list[dict], total: int, out: list[FieldSpec]) -> None:
    values: dict[str, list[Any]] = {}
    for obj in objects:
        for key, value in obj.items():
            # A dot is only meaningful at the top level (a flattened CSV header).
            if not isinstance(key, str) or "" in key.split(".") or (prefix and "." in key):
                continue
            bucket = values.setdefault(key, [])
            if value is not None and value != "":
                bucket.append(value)
    for key, present in values.items():
        name = f"{prefix}{key}"
        nested = "." not in key and all(isinstance(v, dict) for v in present)
        if nested and any(present):
            _infer_level(f"{name}.", present, total, out)
            continue
        types = set(_INFERENCE_ORDER)
        for value in present:
            types &= _types_of(value)
        type_name = next(t for t in _INFERENCE_ORDER if t in types) if present else "string"
        out.append(FieldSpec(name=name, type=type_name, required=len(present) == total))


def infer_schema(records: list) -> list[FieldSpec]:
    """Propose fields from sample records: dotted names for nested objects, the narrowest type
    every non-empty sample fits, required when every sample has a value. Order of first appearance."""
    objects = [record for record in records if isinstance(record, dict)]
    fields: list[FieldSpec] = []
    if objects:
        _infer_level("", objects, len(objects), fields)
    # A flat "a.b" header beside a nested {"a": {"b": ...}} (or under a plain "a") would
    # make a schema that cannot compile: the first one seen stays.
    kept: dict[str, FieldSpec] = {}
    for spec in fields:
        parts = spec.name.split(".")
        clashes = any(".".join(parts[:depth]) in kept for depth in range(1, len(parts) + 1))
        if not clashes and not any(name.startswith(spec.name + ".") for name in kept):
            kept[spec.name] = spec
    return list(kept.values())
