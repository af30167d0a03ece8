"""The SQLite backend queues write transactions on a file lock: one writer at a time, across
threads (each connection its own descriptor) and forked processes, while the lock file stays open."""

from __future__ import annotations

import os
import threading

from osmosproject.sqlite.base import DatabaseWrapper


def connection_to(path) -> DatabaseWrapper:
    return DatabaseWrapper(
        {
            "ENGINE": "osmosproject.sqlite",
            "NAME": str(path),
            "OPTIONS": {},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        }
    )


def acquire_in_a_thread(connection: DatabaseWrapper) -> threading.Event:
    done = threading.Event()
    threading.Thread(target=lambda: (connection._acquire_write_lock(), done.set())).start()
    return done


def test_a_second_connection_waits_until_the_first_commits(tmp_path):
    first, second = connection_to(tmp_path / "db.sqlite3"), connection_to(tmp_path / "db.sqlite3")
    for _ in range(3):  # the same descriptors, transaction after transaction
        first._acquire_write_lock()
        waiting = acquire_in_a_thread(second)
        assert not waiting.wait(0.3)
        first._release_write_lock()
        assert waiting.wait(5)
        second._release_write_lock()
    assert first._write_lock_fd is not None and second._write_lock_fd is not None


def test_a_forked_child_waits_for_its_parents_lock(tmp_path):
    parent = connection_to(tmp_path / "db.sqlite3")
    parent._acquire_write_lock()
    parent._release_write_lock()  # the lock file stays open, and the child inherits it
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.read(child_reads, 1)  # the parent holds the lock now
        got = acquire_in_a_thread(parent).wait(0.5)
        os.write(child_writes, b"1" if got else b"0")
        os._exit(0)
    try:
        parent._acquire_write_lock()
        os.write(parent_writes, b"go")
        assert os.read(parent_reads, 1) == b"0"
    finally:
        parent._release_write_lock()
        os.waitpid(pid, 0)


def open_cursor(connection: DatabaseWrapper):
    """The backend's own cursor (pytest-django guards `cursor()`), in autocommit mode."""
    connection.connection = connection.get_new_connection(connection.get_connection_params())
    connection.autocommit = True
    return connection.create_cursor()


def in_a_thread(work) -> threading.Event:
    done = threading.Event()
    threading.Thread(target=lambda: (work(), done.set())).start()
    return done


def test_a_write_outside_a_transaction_queues_on_the_lock_too(tmp_path):
    # django-q2's database broker writes one statement at a time: each must queue with the
    # transactions, not meet them in SQLite's sleeping busy handler.
    holder, writer, reader = (connection_to(tmp_path / "db.sqlite3") for _ in range(3))
    cursor = open_cursor(writer)
    cursor.execute("CREATE TABLE t (n integer)")
    holder._acquire_write_lock()
    try:
        inserted = in_a_thread(lambda: cursor.execute("INSERT INTO t VALUES (%s)", [1]))
        assert not inserted.wait(0.3)
        # Reads do not queue.
        assert open_cursor(reader).execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        holder._release_write_lock()
    assert inserted.wait(5)
    assert not writer._write_locked  # released after its statement
    many = in_a_thread(lambda: cursor.executemany("DELETE FROM t WHERE n = %s", [[1], [2]]))
    assert many.wait(5)
