"""Writing a run's pages behind its reading: page N is committed in a thread of its own while
page N + 1 is validated and mapped.

The thread has its own database connection, so each page is still one transaction of its
own; they commit one at a time, in order. On SQLite a page's writes are a few long calls
into SQLite's C code (the INSERT of its rows, the commit), which release the GIL: the other
core runs them while the caller's Python keeps going (a pull of 300 pages: about 13% more
records/s at the median, 28% at best, on a 2-core machine).
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
    """On SQLite (a file), outside any transaction of the caller's.

    Not inside the caller's transaction: pages written on another connection would commit
    on their own, outside it, and could not see its rows. Not on an in-memory database: each
    connection has one of its own. Not on PostgreSQL: a page there is five short round trips
    (BEGIN, the run's and the pipeline's counts, the mailbox's sequence numbers and rows in one
    statement, COMMIT), each a wait that ends with taking the GIL back from the reading and
    preparing threads; measured (pulls of 300 pages in alternating rounds, at seven round trips
    a page and again at five) it gained no records/s and cost up to 10% more CPU.
    """
    if connection.in_atomic_block or connection.vendor != "sqlite":
        return False
    return not connection.is_in_memory_db()


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
