"""Example records and ready-to-copy curl commands, built from a connector's schema."""

from __future__ import annotations

import json
import shlex
from typing import Any

from connectors.schema import FieldSpec, set_path

EXAMPLE_VALUES: dict[str, Any] = {
    "string": "text",
    "integer": 42,
    "number": 19.99,
    "boolean": True,
    "date": "2024-05-17",
    "datetime": "2024-05-17T09:30:00Z",
    "email": "ada@example.com",
    "url": "https://example.com/",
    "json": {"any": "value"},
}
# A better guess than the type alone, for names that say what they hold.
BY_NAME_HINT = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "name": "Ada Lovelace",
    "id": "1001",
    "country": "GB",
}


def example_value(spec: FieldSpec) -> Any:
    if spec.default is not None:
        return spec.default
    leaf = spec.name.rsplit(".", 1)[-1].lower()
    hint = BY_NAME_HINT.get(leaf)
    if hint is not None and spec.type in ("string", "email"):
        return hint
    return EXAMPLE_VALUES.get(spec.type, "text")


def example_record(specs: list[FieldSpec]) -> dict:
    """A record that satisfies the schema: every field with a plausible value, nested as named."""
    record: dict = {}
    for spec in specs:
        set_path(record, spec.name, example_value(spec))
    return record


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def curl_post_json(url: str, record: dict, token: str) -> str:
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        f"  -H {shlex.quote('Authorization: Bearer ' + token)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(record, ensure_ascii=False))}"
    )


def curl_post_csv(url: str, specs: list[FieldSpec], token: str) -> str:
    header = ",".join(spec.name for spec in specs)
    row = ",".join(csv_cell(example_value(spec)) for spec in specs)
    return (
        f"printf '%s\\n' {shlex.quote(header)} {shlex.quote(row)} | \\\n"
        f"  curl -X POST {shlex.quote(url)} \\\n"
        f"  -H {shlex.quote('Authorization: Bearer ' + token)} \\\n"
        "  -H 'Content-Type: text/csv' --data-binary @-"
    )


def csv_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def curl_poll(url: str, token: str) -> str:
    return f"curl {shlex.quote(url + '?limit=100&wait=10')} \\\n  -H {shlex.quote('Authorization: Bearer ' + token)}"


def curl_ack(url: str, token: str) -> str:
    return (
        f"curl -X POST {shlex.quote(url + 'ack/')} \\\n"
        f"  -H {shlex.quote('Authorization: Bearer ' + token)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -d \'{"cursor": "<the next cursor of the last poll>"}\''
    )
