"""Throttle state shared by every web process of one machine: a small memory-mapped file.

Without Redis the shared cache is a folder of files, and each throttled request paid for a
cache write (a temporary file, a rename: about a millisecond, a third of a one-record ingest
request). Here the state is one fixed-size file beside the database, mapped into every
process, with one slot per connector holding the time its next request is due (GCRA, see
`connectors.throttling`). A step is a read and a write of 16 bytes under a lock, so it is
also exact: two processes can no longer both read the same due time and both pass.

Slots are found by hashing the key, probing a few neighbours. A slot whose due time has
passed holds nothing a limit needs (a due time in the past means "no debt"), so it can be
taken by any key; only when every probed slot is owed by another busy connector is the
request let through unthrottled, which takes thousands of connectors at their limit at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading

SLOTS = 4096
PROBES = 8
SLOT = struct.Struct("<qd")  # the key's hash (0: never used), the due time (Unix seconds)
SIZE = SLOTS * SLOT.size


def key_hash(key: str) -> int:
    # Never 0, which marks a slot never used.
    return (
        int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little", signed=True)
        or 1
    )


class SharedSlots:
    """GCRA due times in a file every process maps; `step` is atomic across processes and threads."""

    def __init__(self, path: str):
        self.path = path
        # flock excludes other processes, not other threads of this one (they share the lock).
        self._threads = threading.Lock()
        self._pid = 0
        self._fd = -1
        self._map: mmap.mmap | None = None

    def step(self, key: str, now: float, interval: float, slack: float) -> float:
        """Take one request for `key`: 0 when it may pass (its due time moves on by
        `interval`), else the seconds until it may, with nothing recorded."""
        wanted = key_hash(key)
        start = (wanted & 0x7FFFFFFF) % SLOTS
        with self._threads:
            view = self._mapped()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                slot = free = None
                for probe in range(PROBES):
                    offset = ((start + probe) % SLOTS) * SLOT.size
                    owner, due = SLOT.unpack_from(view, offset)
                    if owner == wanted:
                        slot = offset
                        break
                    if free is None and due <= now:
                        free = offset
                if slot is None:
                    if free is None:
                        return 0.0
                    slot, due = free, now
                due = max(due, now)
                if due - now > slack:
                    return due - now - slack
                SLOT.pack_into(view, slot, wanted, due + interval)
                return 0.0
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _mapped(self) -> mmap.mmap:
        if self._map is None or self._pid != os.getpid():
            # A forked child opens its own: a descriptor shared with the parent shares its flock.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)
            self._map = mmap.mmap(fd, SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self._fd, self._pid = fd, os.getpid()
        return self._map
