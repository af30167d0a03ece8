"""Django's SQLite backend, with write transactions queued on a file lock.

SQLite lets one writer in at a time. A writer that finds the database locked waits in
SQLite's busy handler, which polls with sleeps of 1, 2, 5, 10, 15, 20, 25... ms: under a
steady stream of small transactions from several processes (web workers, qcluster
workers), requests queue behind those sleeps and latency jumps to tens of ms. Here every
`atomic` block first takes an exclusive `flock` on a file beside the database: the kernel
wakes the next writer the moment the lock is released, so writers queue without sleeping.
A write outside any `atomic` block (autocommit: one statement, one transaction) takes the
same lock around its statement. django-q2's database broker writes that way (enqueue,
claim, acknowledge): while those writes used SQLite's own lock, an ingest request that met
one slept in the busy handler, 60-250 ms for one request in ten under a light load with
HTTP deliveries (p99 171 ms against 63 ms with the Redis broker).

WAL checkpoints stay where SQLite runs them, inside the commit that takes the WAL past 1,000
pages, so under this lock: one small commit in about 80 then takes ~20 ms instead of 0.15, and
the writers queued behind it wait too. Moved to a thread of their own, beside the writers,
they corrupted a database within one CI run: SQLite's WAL-reset bug (3.7.0 to 3.51.2; the
Debian build Python links here is 3.40.1; https://sqlite.org/wal.html#walresetbug) needs a
checkpoint to overlap a commit, which this lock rules out. A larger wal_autocheckpoint only
trades them for rarer, longer stalls (10,000 pages: one commit in ~800 took ~180 ms).

Its cursors also remember how each statement's placeholders were rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os

from django.db.backends.sqlite3 import base


@functools.lru_cache(maxsize=1024)
def qmark_style(query: str) -> str:
    return base.SQLiteCursorWrapper.convert_query(None, query)


# Statements that write (the first word; Django writes none with a leading comment).
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def writes(query: str) -> bool:
    return query.lstrip()[:7].upper().startswith(WRITES)


class CursorWrapper(base.SQLiteCursorWrapper):
    """Takes the write lock around a write made outside a transaction (see the module).

    And rewrites each statement's `%s` placeholders to SQLite's `?` once: Django runs a regex
    on every execution, 45 µs for a 100-row INSERT, 6 times per ingest request, over the
    same few statements again and again."""

    database: DatabaseWrapper

    def execute(self, query, params=None):
        if self.database.writes_alone(query):
            with self.database.write_lock():
                return super().execute(query, params)
        return super().execute(query, params)

    def executemany(self, query, param_list):
        if self.database.writes_alone(query):
            with self.database.write_lock():
                return super().executemany(query, param_list)
        return super().executemany(query, param_list)

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return qmark_style(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    # The lock file stays open with the connection (one descriptor each, so the threads of a
    # process exclude each other too); only the flock is taken and released per transaction.
    _write_lock_fd: int | None = None
    _write_lock_pid = 0
    _write_locked = False

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.database = self
        return cursor

    def writes_alone(self, query: str) -> bool:
        """Whether `query` writes as a transaction of its own (autocommit mode): it then takes
        the write lock itself (inside `atomic`, the block already holds it)."""
        return self.autocommit and not self._write_locked and writes(query)

    @contextlib.contextmanager
    def write_lock(self):
        """The write lock for one statement run in autocommit mode."""
        self._acquire_write_lock()
        try:
            yield
        finally:
            self._release_write_lock()

    def _start_transaction_under_autocommit(self):
        self._acquire_write_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
            fd, self._write_lock_fd = self._write_lock_fd, None
            if fd is not None:
                os.close(fd)

    def _acquire_write_lock(self) -> None:
        if self.is_in_memory_db() or self._write_locked:
            return
        if self._write_lock_fd is None or self._write_lock_pid != os.getpid():
            # A forked child opens its own: a descriptor shared with the parent shares its flock.
            # Closing the inherited one leaves the parent's lock alone (it holds its own).
            if self._write_lock_fd is not None:
                os.close(self._write_lock_fd)
            path = f"{self.settings_dict['NAME']}.writelock"
            self._write_lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._write_lock_pid = os.getpid()
        fcntl.flock(self._write_lock_fd, fcntl.LOCK_EX)
        self._write_locked = True

    def _release_write_lock(self) -> None:
        if self._write_locked:
            self._write_locked = False
            fcntl.flock(self._write_lock_fd, fcntl.LOCK_UN)
