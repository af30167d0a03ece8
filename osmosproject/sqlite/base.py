"""Django's SQLite backend, with write transactions queued on a file lock.

SQLite lets one writer in at a time. A writer that finds the database locked waits in
SQLite's busy handler, which polls with sleeps of 1, 2, 5, 10, 15, 20, 25... ms: under a
steady stream of small transactions from several processes (web workers, qcluster
workers), requests queue behind those sleeps and latency jumps to tens of ms. Here every
`atomic` block first takes an exclusive `flock` on a file beside the database: the kernel
wakes the next writer the moment the lock is released, so writers queue without sleeping.
Single statements in autocommit mode still use SQLite's own lock and busy timeout.
"""

from __future__ import annotations

import fcntl
import os

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    _write_lock_fd: int | None = None

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

    def _acquire_write_lock(self) -> None:
        if self.is_in_memory_db() or self._write_lock_fd is not None:
            return
        fd = os.open(f"{self.settings_dict['NAME']}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._write_lock_fd = fd

    def _release_write_lock(self) -> None:
        fd, self._write_lock_fd = self._write_lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases its flock
