"""WAL checkpoints in a thread of their own, never inside a request's commit.

In WAL mode SQLite appends each commit to the `-wal` file and now and then copies it back
into the database file: a checkpoint, which ends with an fsync. By default the COMMIT that
takes the WAL past 1,000 pages runs it, and that COMMIT holds our write lock (`base.py`) all
the while. Measured on one-record ingest requests (about a dozen WAL pages each): the median
commit took 0.14 ms, but one in about 80 took 20 ms, and every writer of every process
queued behind it for those 20 ms: the p99 of every webhook sender, a stall for every
delivery worker.

So our connections turn automatic checkpoints off (`PRAGMA wal_autocheckpoint=0`), and a
commit wakes its process's checkpointer instead, which checkpoints on a connection of its
own, outside the write lock, at most every CHECKPOINT_INTERVAL seconds. PASSIVE waits for no
reader or writer: it copies what it can, and writers keep appending meanwhile; SQLite starts
the WAL over once a checkpoint has copied all of it. Every process that writes has one
(threads do not survive a fork: one per process id), so the WAL stays bounded by what the
writers append in an interval, whichever process is writing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from urllib.parse import quote

logger = logging.getLogger("osmosproject.sqlite")

# Seconds between two checkpoints of a database while it is written to. A checkpoint costs
# about one fsync: at most a few a second, where SQLite's own threshold ran one every ~80
# small commits.
CHECKPOINT_INTERVAL = 0.5


class Checkpointer:
    """Checkpoints one database file in a daemon thread, woken by the writers of its process."""

    def __init__(self, path: str, interval: float = CHECKPOINT_INTERVAL):
        self.path = path
        self.interval = interval
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Something was appended to the WAL: checkpoint now, or once the interval since the
        last checkpoint has passed (so the last commit of a burst is copied back too)."""
        self._wake.set()

    def _run(self) -> None:
        connection = None
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                if connection is None:
                    # mode=rw: a database deleted meanwhile (a test's) is not created anew.
                    uri = f"file:{quote(self.path)}?mode=rw"
                    connection = sqlite3.connect(uri, uri=True, timeout=5)
                # Another process's checkpoint under way is no error: it reports "busy".
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                # The next commit wakes the thread again; until then the WAL just grows.
                logger.warning("checkpoint of %s failed: %s", self.path, exc)
                if connection is not None:
                    connection.close()
                    connection = None
            time.sleep(self.interval)


_checkpointers: dict[tuple[int, str], Checkpointer] = {}
_lock = threading.Lock()


def checkpointer(path: str) -> Checkpointer:
    """This process's checkpointer of the database file at `path`, started on first use."""
    key = (os.getpid(), path)
    found = _checkpointers.get(key)
    if found is None:
        with _lock:
            found = _checkpointers.get(key)
            if found is None:
                found = _checkpointers[key] = Checkpointer(path)
    return found
