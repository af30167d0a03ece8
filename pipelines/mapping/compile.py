"""Mapping source records onto a destination schema.

Each destination field gets its value from a mapping (a source path, a
template over the record, or a constant), or, with no mapping, from the source
field of the same name ("auto-map"). Transforms run next, then the destination
schema coerces and validates the whole record. ``compile_mapping`` does every
check and every bit of parsing once, so ``CompiledMapping.map`` is a loop over
prepared closures; it never raises, whatever the record: a bad value is an
error for that field, and the record is rejected with all its errors.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.schema import (
    REQUIRED_MESSAGE,
    CoercionError,
    CompiledSchema,
    FieldSpec,
    Filler,
    get_path,
    not_an_object,
)
from connectors.templating import TemplateError, compile_template, is_template
from pipelines.mapping.transforms import TransformError, compile_transforms

Reader = Callable[[dict], Any]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# ``value`` may legitimately be None or "" (a constant "nothing"), so "no value" needs its own marker.
UNSET: Any = _Unset()
_MISSING: Any = object()


class MappingConfigError(ValueError):
    """A mapping that cannot work whatever the records; raised when the pipeline is saved."""


@dataclass
class MappingSpec:
    target: str
    source: str = ""
    template: str = ""
    value: Any = UNSET
    transforms: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> MappingSpec:
        """Build from the API's JSON form: ``{"target": ..., "source"|"template"|"value": ...}``."""
        if not isinstance(data, dict) or not isinstance(data.get("target"), str):
            raise MappingConfigError("each mapping needs a 'target' field name")
        unknown = set(data) - {"target", "source", "template", "value", "transforms"}
        if unknown:
            raise MappingConfigError(
                f"mapping '{data['target']}': unknown key(s) {', '.join(sorted(unknown))}"
            )
        transforms = data.get("transforms", [])
        if not isinstance(transforms, list):
            raise MappingConfigError(f"mapping '{data['target']}': transforms must be a list")
        return cls(
            target=data["target"],
            source=data.get("source") or "",
            template=data.get("template") or "",
            value=data.get("value", UNSET),
            transforms=list(transforms),
        )

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"target": self.target}
        if self.source:
            data["source"] = self.source
        if self.template:
            data["template"] = self.template
        if self.value is not UNSET:
            data["value"] = self.value
        if self.transforms:
            data["transforms"] = list(self.transforms)
        return data


_IGNORED_IN_NAMES = re.compile(r"[\s_-]+")


@functools.lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """Lower case without blanks, "_" or "-": "First Name" and "first_name" both become "firstname"."""
    return _IGNORED_IN_NAMES.sub("", name).lower()


def suggest_mapping(source_fields: list[str], destination_fields: list[str]) -> dict[str, str]:
    """Destination field -> source field, by the same name, else the same normalised name."""
    by_normal: dict[str, str] = {}
    for name in source_fields:
        by_normal.setdefault(normalize_name(name), name)
    suggestion = {}
    for name in destination_fields:
        if name in source_fields:
            suggestion[name] = name
        elif normalize_name(name) in by_normal:
            suggestion[name] = by_normal[normalize_name(name)]
    return suggestion


# --- readers: how one destination field gets its raw value ----------------


def _source_reader(path: str) -> Reader:
    if "." not in path:
        return lambda record: record.get(path)
    parts = tuple(path.split("."))

    def read(record: dict) -> Any:
        current: Any = record
        for part in parts:
            if type(current) is not dict:
                # Lists ("items.0.sku") and odd shapes take the general path.
                current = get_path(record, parts, _MISSING)
                break
            current = current.get(part, _MISSING)
            if current is _MISSING:
                break
        # A CSV header "identifiers.email" is one flat key, not a nested object.
        return record.get(path) if current is _MISSING else current

    return read


def _template_reader(text: str) -> Reader:
    if not is_template(text):
        return lambda record: text
    template = compile_template(text)
    return lambda record: template.render({**record, "record": record})


def _constant_reader(value: Any) -> Reader:
    if isinstance(value, dict | list):
        return lambda record: copy.deepcopy(value)
    return lambda record: value


def _auto_reader(name: str) -> Reader:
    exact = _source_reader(name) if "." in name else None
    wanted = normalize_name(name)

    def read(record: dict) -> Any:
        value = record.get(name, _MISSING) if exact is None else exact(record)
        if value is not _MISSING and (value is not None or exact is None or name in record):
            return value
        for key, candidate in record.items():
            if isinstance(key, str) and normalize_name(key) == wanted:
                return candidate
        return None

    return read


def _reader(spec: MappingSpec) -> Reader:
    if not isinstance(spec.source, str) or not isinstance(spec.template, str):
        raise ValueError("source and template must be text")
    chosen = [bool(spec.source), bool(spec.template), spec.value is not UNSET]
    if chosen.count(True) != 1:
        raise ValueError("give exactly one of source, template or value")
    if spec.source:
        return _source_reader(spec.source)
    if spec.template:
        try:
            return _template_reader(spec.template)
        except TemplateError as exc:
            raise ValueError(f"template {exc}") from None
    return _constant_reader(spec.value)


class CompiledMapping:
    """Mappings and a destination schema, prepared for mapping many records."""

    def __init__(self, steps: Sequence[tuple[str, Reader | None, Filler | bool]]) -> None:
        self._steps = tuple(steps)
        # When every field is copied as validated, a validated record holding exactly the
        # destination's fields, in its order, is its own destination record: the hot path of
        # "validate and forward" flows. (Validation never leaves None or "" in a schema field.)
        copied = all(produce is None for _, produce, _ in self._steps)
        self._same_shape = tuple(target for target, _, _ in self._steps) if copied else None
        self._map_fields = _write_mapper(self._steps)

    def map(self, record: Any) -> tuple[dict | None, list[dict]]:
        """``(destination record, [])`` or ``(None, errors)``, one error per failing field."""
        if not isinstance(record, dict):
            return None, [{"field": "", "message": not_an_object(record)}]
        shape = self._same_shape
        if shape is not None:
            keys = tuple(record)
            if keys == shape:
                # Kept as the record's own key objects: parsers hand out the same key object
                # for the same name (orjson's key cache, csv's header), so the next record's
                # comparison finds each key identical instead of comparing its text.
                self._same_shape = keys
                return dict(record), []
        return self._map_fields(record)


UNMAPPABLE_MESSAGE = "This value could not be mapped."


def _write_mapper(steps: Sequence[tuple[str, Reader | None, Filler | bool]]) -> Callable:
    """``map_fields(record)`` for these steps, as Python source compiled once (as the schema's
    validator is, `connectors.schema._write_validator`): each destination field's step written
    out, with no loop over the steps nor test of their kind per field of every record.
    Targets, readers and fillers reach the code as variables, never as source text.
    """
    names: dict[str, Any] = {
        "REQUIRED": REQUIRED_MESSAGE,
        "UNMAPPABLE": UNMAPPABLE_MESSAGE,
        "EXPECTED": (CoercionError, TransformError, TemplateError),
    }
    lines = ["def map_fields(record):", "    out = {}", "    errors = []", "    get = record.get"]
    for i, (target, produce, fill) in enumerate(steps):
        names[f"T{i}"] = target
        if produce is None:
            # Copied as validated (see compile_mapping); `fill` is then "is it required".
            lines += [f"    v = get(T{i})", '    if v is None or v == "":']
            lines.append(
                f'        errors.append({{"field": T{i}, "message": REQUIRED}})'
                if fill
                else "        pass"
            )
            lines += ["    else:", f"        out[T{i}] = v"]
            continue
        names[f"P{i}"], names[f"F{i}"] = produce, fill
        lines += [
            "    try:",
            f"        F{i}(P{i}(record), out)",
            "    except EXPECTED as exc:",
            f'        errors.append({{"field": T{i}, "message": str(exc)}})',
            # One odd record must not stop a batch.
            "    except Exception:",
            f'        errors.append({{"field": T{i}, "message": UNMAPPABLE}})',
        ]
    lines += ["    if errors:", "        return None, errors", "    return out, errors"]
    exec(compile("\n".join(lines), f"<mapper of {len(steps)} fields>", "exec"), names)
    return names["map_fields"]


def _producer(read: Reader, transforms: Any) -> Reader:
    if not isinstance(transforms, list | tuple):
        raise ValueError("transforms must be a list")
    if not transforms:
        return read
    transform = compile_transforms(transforms)
    return lambda record: transform(read(record))


def compile_mapping(
    mappings: Sequence[MappingSpec | dict],
    destination: Sequence[FieldSpec],
    validated_by: Sequence[FieldSpec] = (),
) -> CompiledMapping:
    """Check and prepare ``mappings`` (MappingSpec, or their JSON dicts) for ``destination``.

    Raises MappingConfigError naming the mapping for a target outside the
    destination, a duplicate target, a bad transform or a template syntax error.
    """
    try:
        schema = CompiledSchema(destination, drop_unknown=True)
    except ValueError as exc:
        raise MappingConfigError(f"destination schema: {exc}") from None
    field_names = [spec.name for spec in destination]
    by_target: dict[str, Reader] = {}
    copies: dict[str, str] = {}  # target -> source field, for mappings that only copy one
    for number, item in enumerate(mappings, start=1):
        spec = item if isinstance(item, MappingSpec) else MappingSpec.from_dict(item)
        where = f"mapping {number} (target '{spec.target}')"
        if spec.target not in field_names:
            fields = f"its fields: {', '.join(field_names)}" if field_names else "it has none"
            raise MappingConfigError(
                f"{where}: '{spec.target}' is not a field of the destination ({fields})"
            )
        if spec.target in by_target:
            raise MappingConfigError(f"{where}: '{spec.target}' is mapped twice")
        try:
            by_target[spec.target] = _producer(_reader(spec), spec.transforms)
        except ValueError as exc:
            raise MappingConfigError(f"{where}: {exc}") from None
        if spec.source and not spec.transforms:
            copies[spec.target] = spec.source
    # The destination schema's fillers coerce and validate each mapped value and write it
    # at its (nested) path; the output starts empty, so nothing else reaches the destination.
    # Records already validated by a source schema (`validated_by`) hold values of their field's
    # type: an unmapped destination field of the same name and type takes its value as it is,
    # without coercing it a second time (the hot path of same-shape flows).
    # A mapping that only copies a field (no transform) is the same case when that field was
    # validated as the target's type: the editor writes same-named copies out as mappings.
    source_types = {(spec.name, spec.type) for spec in validated_by}
    specs = {spec.name: spec for spec in destination}

    def typed_source(name: str) -> str | None:
        """The validated source field that already holds `name`'s value in its type, if any."""
        source = copies.get(name, name if name not in by_target else None)
        return source if (source, specs[name].type) in source_types else None

    def step(name: str) -> tuple:
        source = typed_source(name)
        if source is None:
            return name, by_target.get(name) or _auto_reader(name), schema.fillers[name]
        spec = specs[name]
        if source == name and "." not in name and (spec.default is None or spec.default == ""):
            return name, None, spec.required  # copied inline by map(): the common case, fastest
        return name, _source_reader(source), schema.trusted_fillers[name]

    return CompiledMapping(step(name) for name in field_names)
