"""Which pipelines a connector's schema change would break, in words that name them.

Registered with `connectors.schema_guards` (pipelines/apps.py), so the API, the UI forms and the
admin refuse such an edit before it reaches a running data path. Only what the change itself
breaks is reported (a problem the pipeline already had does not block an unrelated edit):

- a destination field a mapping fills is removed or renamed;
- a destination field's new type cannot hold the constant a mapping puts in it;
- any other way the pipeline would no longer compile against the new destination;
- a source field a mapping reads (a source path, a template placeholder) is removed or renamed;
- a source field that fills a required destination field by name (auto-map) is removed.

Type changes of source fields are accepted: a value that no longer fits is that record's
error, kept with its run like any other.
"""

from __future__ import annotations

from connectors.schema import CoercionError, FieldSpec, coerce
from connectors.templating import TemplateError, compile_template, is_template
from pipelines.mapping.compile import MappingConfigError, compile_mapping, normalize_name
from pipelines.mapping.models import Mapping, Pipeline

CHANGE_FIRST = "change the mapping first."


def schema_change_problems(connector, new: list[FieldSpec]) -> list[str]:
    """Why `connector`'s schema cannot become `new` while its pipelines map it as they do."""
    old = connector.schema.specs()
    problems = []
    as_destination = Pipeline.objects.filter(destination=connector).prefetch_related("mappings")
    for pipeline in as_destination:
        problems += destination_problems(pipeline, old, new)
    as_source = Pipeline.objects.filter(source=connector).prefetch_related(
        "mappings", "destination__schema__fields"
    )
    for pipeline in as_source:
        problems += source_problems(pipeline, old, new)
    return problems


def destination_problems(pipeline: Pipeline, old: list[FieldSpec], new: list[FieldSpec]):
    old_types = {spec.name: spec.type for spec in old}
    new_types = {spec.name: spec.type for spec in new}
    problems = []
    for mapping in pipeline.mappings.all():
        target = mapping.target
        if target not in new_types:
            problems.append(mapped_by(target, pipeline, mapping))
        elif new_types[target] != old_types.get(target) and not constant_fits(
            mapping, new_types[target]
        ):
            problems.append(
                f"Field '{target}' cannot become {new_types[target]}: the constant of pipeline "
                f"'{pipeline}' (mapping '{mapping}') is not one; {CHANGE_FIRST}"
            )
    if problems:
        return problems
    specs = pipeline.mapping_specs()
    try:
        compile_mapping(specs, new)
    except MappingConfigError as exc:
        if compiles(specs, old):
            return [f"Pipeline '{pipeline}' would no longer work: {exc}; {CHANGE_FIRST}"]
    return []


def source_problems(pipeline: Pipeline, old: list[FieldSpec], new: list[FieldSpec]):
    old_names = [spec.name for spec in old]
    new_names = [spec.name for spec in new]
    removed = [name for name in old_names if name not in new_names]
    if not removed:
        return []
    problems = []
    mappings = list(pipeline.mappings.all())
    for mapping in mappings:
        for path in paths_read(mapping):
            if covers(old_names, path) and not covers(new_names, path):
                field = next(name for name in removed if covers([name], path))
                problems.append(mapped_by(field, pipeline, mapping))
    mapped = {mapping.target for mapping in mappings}
    for spec in pipeline.destination.schema.specs():
        if spec.name in mapped or not spec.required or spec.default not in (None, ""):
            continue
        if auto_maps(old_names, spec.name) and not auto_maps(new_names, spec.name):
            field = next(name for name in removed if auto_maps([name], spec.name))
            problems.append(
                f"Field '{field}' is mapped by pipeline '{pipeline}' (auto-mapped to its "
                f"required field '{spec.name}'); {CHANGE_FIRST}"
            )
    return problems


def mapped_by(field: str, pipeline: Pipeline, mapping: Mapping) -> str:
    return (
        f"Field '{field}' is mapped by pipeline '{pipeline}' (mapping '{mapping}'); {CHANGE_FIRST}"
    )


def paths_read(mapping: Mapping) -> list[str]:
    """The source paths a mapping reads: its source path, or its template's placeholders."""
    if mapping.source:
        return [mapping.source]
    if mapping.template and is_template(mapping.template):
        try:
            variables = compile_template(mapping.template).variables
        except TemplateError:
            return []
        return sorted(variables - {"record"})
    return []


def covers(names: list[str], path: str) -> bool:
    """A schema of these fields defines `path`: the field itself, an object holding it, or
    nested fields under it (a template's `customer` reads `customer.name`)."""
    return any(
        name == path or path.startswith(name + ".") or name.startswith(path + ".") for name in names
    )


def auto_maps(names: list[str], target: str) -> bool:
    """A source of these fields fills `target` by name (see compile's auto-map)."""
    wanted = normalize_name(target)
    return covers(names, target) or any(normalize_name(name) == wanted for name in names)


def constant_fits(mapping: Mapping, type_name: str) -> bool:
    if mapping.source or mapping.template or mapping.transforms or mapping.value is None:
        return True
    try:
        coerce(type_name, mapping.value)
    except CoercionError:
        return False
    return True


def compiles(specs, fields: list[FieldSpec]) -> bool:
    try:
        compile_mapping(specs, fields)
    except MappingConfigError:
        return False
    return True
