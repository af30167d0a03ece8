"""Wall-clock deadlines for outbound exchanges, used by `connectors.http` only.

A socket timeout bounds one read: a peer that sends a byte just before each read times out
(headers or body dripped one byte a second) holds the caller for as long as it likes. So each
exchange gets a deadline, and one watchdog thread per process cuts the exchange's connection
(`shutdown`, which wakes a blocked `recv` or `send` at once) when the deadline passes.

The cut goes through a duplicate of the connection's file descriptor, owned by the exchange:
it stays valid however urllib3 or http.client close or hand over their socket objects (a
`Connection: close` response keeps reading on a socket its connection already "closed"; TLS
wraps the connected socket into another object), and it can never hit an unrelated socket
that reused a closed descriptor's number.

`budget(seconds)` makes several exchanges share one deadline: an OAuth2 token fetch and the
request it authorises are one attempt, bounded by one `timeout_seconds`.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_local = threading.local()


class Exchange:
    """One request and its response, due to end by `deadline` (a `time.monotonic()` value)."""

    def __init__(self, seconds: float) -> None:
        now = time.monotonic()
        self.seconds = seconds
        self.deadline = now + seconds
        shared = getattr(_local, "budget", None)
        if shared is not None and shared[0] < self.deadline:
            self.deadline, self.seconds = shared
        self.cut = False  # the watchdog cut it
        self._finished = False
        self._cutter: socket.socket | None = None

    def __enter__(self) -> Exchange:
        _local.exchange = self
        _watchdog().watch(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _local.exchange = None
        with _lock:
            self._finished = True
            if self._cutter is not None:
                self._cutter.close()
                self._cutter = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.cut or self.remaining() <= 0

    def bound(self, timeout: float | None) -> float:
        """`timeout` (a socket timeout), shortened to what is left of the exchange."""
        left = max(self.remaining(), 0.001)
        return left if timeout is None else min(timeout, left)

    def attach(self, sock: socket.socket) -> None:
        """Watch the socket the exchange runs on (a new connection, or one from the pool)."""
        with _lock:
            if self._finished or self._cutter is not None:
                return
            try:
                self._cutter = socket.socket(fileno=os.dup(sock.fileno()))
            except OSError:
                return  # already closed: nothing left to cut
            if self.cut:
                self._shutdown()

    def _cut(self) -> None:
        with _lock:
            if self._finished:
                return
            self.cut = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._cutter is not None:
            with suppress(OSError):  # the peer closed it first
                self._cutter.shutdown(socket.SHUT_RDWR)


def current() -> Exchange | None:
    """The exchange this thread is running, if any."""
    return getattr(_local, "exchange", None)


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Every exchange inside ends within `seconds` from now, all of them together."""
    outer = getattr(_local, "budget", None)
    mine = (time.monotonic() + seconds, seconds)
    _local.budget = mine if outer is None or mine[0] < outer[0] else outer
    try:
        yield
    finally:
        _local.budget = outer


class _Watchdog:
    """Cuts exchanges still running at their deadline; one thread, woken only when needed."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        with self._condition:
            if len(self._due) > 1000:
                # Finished exchanges stay queued until their deadline: drop them in bulk.
                self._due = [entry for entry in self._due if not entry[2]._finished]
                heapq.heapify(self._due)
            heapq.heappush(self._due, (exchange.deadline, next(self._order), exchange))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="http-deadlines", daemon=True
                )
                self._thread.start()
            if self._due[0][2] is exchange:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._due or self._due[0][0] > time.monotonic():
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._condition.wait(wait)
                _, _, exchange = heapq.heappop(self._due)
            exchange._cut()


_lock = threading.Lock()
_the_watchdog: _Watchdog | None = None


def _watchdog() -> _Watchdog:
    global _the_watchdog
    if _the_watchdog is None:
        with _lock:
            if _the_watchdog is None:
                _the_watchdog = _Watchdog()
    return _the_watchdog


def _forget_after_fork() -> None:
    # The watchdog thread does not survive a fork, and a lock may have been held mid-way.
    global _the_watchdog, _lock
    _the_watchdog = None
    _lock = threading.Lock()
    _local.__dict__.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
