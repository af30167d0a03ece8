"""WAL checkpoints run in a thread of the writing process, never inside a commit (which holds
the write lock every other writer queues on)."""

from __future__ import annotations

import os
import sqlite3
import time

from tests.ops.test_sqlite_write_lock import connection_to, open_cursor

ROW = "x" * 1000


def wal_cursor(path):
    """A cursor of the backend on a WAL database, each statement committed on its own."""
    database = connection_to(path, init_command="PRAGMA journal_mode=WAL")
    cursor = open_cursor(database)
    database.connection.isolation_level = None  # what Django's autocommit mode sets
    return cursor


def test_a_commit_never_checkpoints(tmp_path):
    cursor = wal_cursor(tmp_path / "db.sqlite3")
    assert cursor.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)


def test_the_writers_process_copies_the_wal_back_soon_after_a_burst(tmp_path):
    path = tmp_path / "db.sqlite3"
    cursor = wal_cursor(path)
    cursor.execute("CREATE TABLE t (s text)")
    # About 2 MB in WAL frames: below SQLite's own threshold (1,000 pages, about 4 MB), so only
    # the checkpointer moves them into the database file.
    for _ in range(2000):
        cursor.execute("INSERT INTO t VALUES (%s)", [ROW])
    deadline = time.monotonic() + 10
    while os.path.getsize(path) < 2_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(path) >= 2_000_000
    # All of it: a connection that reads the file alone (no WAL) sees every row.
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(path.read_bytes())
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM t").fetchone() == (2000,)
