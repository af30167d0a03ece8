"""Fixing rejected records in a grid: rows and columns from record errors, and the fixed records back."""

from __future__ import annotations

import json
from typing import Any

from connectors.schema import get_path, set_path
from pipelines.runs.models import RecordError


def flatten(record: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values, the way the grid shows a (nested) record."""
    if not isinstance(record, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def grid_columns(record_errors: list[RecordError], schema_fields: list[str]) -> list[str]:
    columns = list(schema_fields)
    for error in record_errors:
        for path in flatten(error.record):
            if path not in columns:
                columns.append(path)
    return columns


def grid_rows(record_errors: list[RecordError], columns: list[str]) -> list[dict]:
    rows = []
    for error in record_errors:
        flat = flatten(error.record)
        failing = {e.get("field", "") for e in error.errors}
        rows.append(
            {
                "error": error,
                "cells": [
                    {"column": c, "text": cell_text(flat.get(c)), "bad": c in failing}
                    for c in columns
                ],
                "other_errors": [e for e in error.errors if e.get("field", "") not in columns],
            }
        )
    return rows


def fixed_record(error: RecordError, columns: list[str], data) -> dict:
    """The record with the grid's edits: unchanged cells keep their original value and type;
    an emptied cell is a missing value, as in a CSV file."""
    record = json.loads(json.dumps(error.record)) if isinstance(error.record, dict) else {}
    flat = flatten(error.record)
    for i, column in enumerate(columns):
        name = f"r{error.pk}-c{i}"
        if name not in data:
            continue
        text = data[name]
        original = flat.get(column, get_path(record, column))
        if text == cell_text(original):
            continue
        if text == "":
            remove_path(record, column)
        elif isinstance(original, str) or original is None:
            set_path(record, column, text)
        else:
            try:
                set_path(record, column, json.loads(text))
            except json.JSONDecodeError:
                set_path(record, column, text)
    return record


def remove_path(record: dict, path: str) -> None:
    *parents, leaf = path.split(".")
    node = record
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)
