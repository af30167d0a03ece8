"""The SQLite backend rewrites Django's `%s` placeholders once per statement text, not on
every execution, and the rewritten statements still mean what Django's did."""

from __future__ import annotations

from osmosproject.sqlite.base import qmark_style
from tests.ops.test_sqlite_write_lock import connection_to


def backend_cursor(path):
    """The backend's own cursor on a file of its own (pytest-django guards `cursor()`)."""
    connection = connection_to(path)
    connection.connection = connection.get_new_connection(connection.get_connection_params())
    return connection.create_cursor()


def test_a_repeated_statement_is_rewritten_once(tmp_path):
    cursor = backend_cursor(tmp_path / "db.sqlite3")
    statement = "SELECT %s + %s, '100%%', '%%s' -- repeated-statement"
    rewritten = qmark_style.cache_info().misses
    for value in range(5):
        cursor.execute(statement, [value, 1])
        assert cursor.fetchone() == (value + 1, "100%", "%s")
    assert qmark_style.cache_info().misses == rewritten + 1


def test_named_placeholders_still_work(tmp_path):
    cursor = backend_cursor(tmp_path / "db.sqlite3")
    cursor.execute("SELECT %(a)s * %(b)s", {"a": 6, "b": 7})
    assert cursor.fetchone() == (42,)
