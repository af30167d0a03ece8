"""Every ingest request inserts into these tables: no index there may be one another covers.

An index whose columns lead another index only costs a b-tree write per row (on SQLite a WAL
page per commit); queries on its columns use the longer one.
"""

from __future__ import annotations

import pytest
from django.db import connection

HOT_TABLES = [
    "pipelines_run",
    "pipelines_runstat",
    "mailbox_mailboxrecord",
    "pipelines_idempotencykey",
]


def indexes(table: str) -> dict[str, tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {
        name: tuple(c["columns"])
        for name, c in constraints.items()
        if (c["index"] or c["unique"]) and not c["primary_key"] and c["columns"]
    }


@pytest.mark.parametrize("table", HOT_TABLES)
def test_no_index_is_covered_by_another(db, table):
    found = indexes(table)
    assert found, f"no indexes read for {table}"
    covered = [
        (name, other)
        for name, columns in found.items()
        for other, longer in found.items()
        if other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
    ]
    assert not covered, f"{table}: these indexes lead others (name, covered by): {covered}"
