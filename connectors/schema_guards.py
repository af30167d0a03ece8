"""Checks the apps above make before a connector's schema changes.

`connectors` knows nothing of pipelines, yet a pipeline reads its source's fields and fills its
destination's: a schema edit can break it under a running data path. The pipelines app registers
a check here when it is ready (`pipelines/apps.py`); every way of editing a schema (the API, the
UI forms that go through it, the admin) asks `schema_change_problems` before saving and refuses
the edit with the problems, which name what it would break.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from connectors.schema import FieldSpec

if TYPE_CHECKING:
    from connectors.models import Connector

SchemaCheck = Callable[["Connector", list[FieldSpec]], list[str]]

_checks: dict[str, SchemaCheck] = {}


def register(name: str, check: SchemaCheck) -> None:
    """Add (or replace, by name) a check: (connector, its new fields) -> problems in words."""
    _checks[name] = check


def schema_change_problems(connector: Connector, specs: list[FieldSpec]) -> list[str]:
    """Why `connector`'s schema cannot become `specs` now; empty when it can."""
    return [problem for check in _checks.values() for problem in check(connector, specs)]
