"""Writing a run's pages behind its reading: page N is committed in a thread of its own while
page N + 1 is validated and mapped.

The thread has its own database connection, so each page is still one transaction of its
own; they commit one at a time, in order. On PostgreSQL the round trips of a page's
transaction wait on the server with the GIL released, and SQLite's own work runs outside the
GIL too: either way the caller's Python keeps going meanwhile.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, connections

# Pages handed over and perhaps not committed yet: one queued, one being written.
UNCOMMITTED_AT_MOST = 2

_DONE = object()


def can_write_behind() -> bool:
    """Not inside a transaction of the caller's (pages written on another connection would
    commit on their own, outside it, and could not see its rows); not on an in-memory SQLite
    database (each connection has a database of its own)."""
    if connection.in_atomic_block:
        return False
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


class WriteBehind:
    """Hands items to `write`, one at a time and in order, in a thread of its own.

    After a failed write the items still handed over are dropped, and the error is raised in
    the caller's thread at its next `put` or at `finish`.
    """

    def __init__(self, write: Callable[[Any], None], *, name: str = "pull-write-behind"):
        self.write = write
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=UNCOMMITTED_AT_MOST - 1)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not _DONE:
                # Still taken off the queue after a failure, so a caller's `put` never blocks.
                if self.error is None:
                    try:
                        self.write(item)
                    except BaseException as exc:  # raised in the caller's thread
                        self.error = exc
        finally:
            # This thread's connection only.
            connections.close_all()

    def put(self, item: Any) -> None:
        self._raise_error()
        self._queue.put(item)

    def stop(self) -> None:
        """Wait until every item handed over is written (or dropped after a failure)."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()

    def finish(self) -> None:
        self.stop()
        self._raise_error()

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error


@contextmanager
def written_behind(write: Callable[[Any], None], *, behind: bool) -> Iterator[Callable]:
    """A `write` for the with-block: `write` itself, or a WriteBehind's `put` when `behind`.

    Leaving the block waits for the items handed over. When the block fails, they are still
    written (they came before what failed, as when writing in line); when a write failed
    too, its error is the one raised, since its item came first.
    """
    if not behind:
        yield write
        return
    writer = WriteBehind(write)
    try:
        yield writer.put
    except BaseException:
        writer.stop()
        if writer.error is not None:
            raise writer.error from None
        raise
    writer.finish()
