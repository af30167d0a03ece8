"""The configuration file: YAML (or JSON, which YAML reads too) in, YAML out, with line numbers.

A document is a whole workspace (`connectors:` and `pipelines:` lists) or a single connector
(a mapping with `kind`) or a single pipeline (a mapping with `source` and `destination`).
Secrets are never written: a secret is `{env: NAME}`, read from the environment on apply.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VERSION = 1
# The JSON Schema of the format, for editors and for checking files before applying them.
SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class DocumentError(Exception):
    """A document that cannot be applied; `problems` are (where, line, message), every one found."""

    def __init__(self, problems: list[tuple[str, int | None, str]]):
        self.problems = problems
        super().__init__("; ".join(describe(p) for p in problems))


def describe(problem: tuple[str, int | None, str]) -> str:
    where, line, message = problem
    place = f"line {line}, " if line else ""
    return f"{place}{where}: {message}" if where else f"{place}{message}"


@dataclass
class Document:
    connectors: list[dict]
    pipelines: list[dict]
    # Whether it describes the whole workspace (only then may apply prune what it leaves out).
    whole: bool
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, where: str) -> int | None:
        """The line of `where` (a path like `connectors[1].schema.fields[0].type`) or of the
        nearest enclosing thing that has one."""
        while where:
            if where in self.lines:
                return self.lines[where]
            parent = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", where)
            if parent == where:  # a top-level key with no line (a document built in code)
                return None
            where = parent
        return None


def parse(text: str | bytes) -> Document:
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise DocumentError([("", None, "The file is larger than 5 MB.")])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError([("", None, "The file is not UTF-8 text.")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(
            [("", mark.line + 1 if mark else None, f"Not YAML: {reason}.")]
        ) from None
    lines: dict[str, int] = {}
    if node is not None:
        _map_lines(node, "", lines)
    if isinstance(data, dict) and "kind" in data:
        return Document(
            [data], [], False, {_reroot(k, "connectors[0]"): v for k, v in lines.items()}
        )
    if isinstance(data, dict) and "source" in data and "destination" in data:
        return Document(
            [], [data], False, {_reroot(k, "pipelines[0]"): v for k, v in lines.items()}
        )
    if not isinstance(data, dict):
        raise DocumentError(
            [("", 1, "Expected a mapping with `connectors:` and `pipelines:` lists.")]
        )
    if "preset" in data:
        raise DocumentError(
            [
                (
                    "preset",
                    lines.get("preset"),
                    "This is a preset: start from it on the new connector page or with "
                    "POST /api/v1/presets/{name}/create/, which fill in its inputs.",
                )
            ]
        )
    problems = []
    unknown = set(data) - {"version", "connectors", "pipelines"}
    if unknown:
        problems.append(("", 1, f"Unknown top-level keys: {', '.join(sorted(map(str, unknown)))}."))
    if data.get("version", VERSION) != VERSION:
        problems.append(("version", lines.get("version"), f"Only version {VERSION} is known."))
    for key in ("connectors", "pipelines"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            problems.append((key, lines.get(key), "Expected a list of mappings."))
    if problems:
        raise DocumentError(problems)
    return Document(data.get("connectors") or [], data.get("pipelines") or [], True, lines)


def _reroot(path: str, root: str) -> str:
    return root + (path if path.startswith("[") else f".{path}" if path else "")


def _map_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _map_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _map_lines(item, f"{path}[{index}]", lines)


def dump(data: dict) -> str:
    return yaml.safe_dump(plain(data), sort_keys=False, allow_unicode=True, width=100)


def plain(value: Any) -> Any:
    """Dicts and lists all the way down (serializers hand out their own mapping types)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# --- Secret references --------------------------------------------------------------------


def env_name(*parts: str) -> str:
    """`CUSTOMERIO_HEADER_AUTHORIZATION` from ("customerio", "header", "Authorization")."""
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str)


def resolve(value: Any, where: str, problems: list[tuple[str, str]], environ=None) -> Any:
    """`value` with every `{env: NAME}` replaced by the variable's value; a missing variable is
    a problem naming it and where it is used."""
    environ = os.environ if environ is None else environ
    if is_reference(value):
        name = value["env"]
        if name not in environ:
            problems.append((where, f"Set the environment variable {name}: it holds this secret."))
            return ""
        return environ[name]
    if isinstance(value, dict):
        return {k: resolve(v, f"{where}.{k}", problems, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, f"{where}[{i}]", problems, environ) for i, v in enumerate(value)]
    return value


def join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def error_paths(errors: Any, where: str) -> list[tuple[str, str]]:
    """DRF's nested validation errors as (path, message) pairs."""
    if isinstance(errors, dict):
        return [
            pair
            for key, value in errors.items()
            for pair in error_paths(value, where if key == "non_field_errors" else join(where, key))
        ]
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [(where, " ".join(str(e) for e in errors))]
        return [
            pair
            for i, value in enumerate(errors)
            if value
            for pair in error_paths(value, f"{where}[{i}]")
        ]
    return [(where, str(errors))]
