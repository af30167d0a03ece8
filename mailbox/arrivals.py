"""Wakes long polls in this process as soon as records are committed to their mailbox.

Only an early wake-up: writers in other processes (workers, other web servers) are not
seen here, so a waiting poll still checks the database on its own every few hundred
milliseconds (`mailbox.polling`). Each mailbox has a counter that every commit bumps;
a poll notes the counter before it looks at the database, so a commit that lands
between the look and the wait still wakes it.
"""

from __future__ import annotations

import threading

_changed = threading.Condition()
_versions: dict[int, int] = {}


def announce(mailbox_id: int) -> None:
    with _changed:
        _versions[mailbox_id] = _versions.get(mailbox_id, 0) + 1
        _changed.notify_all()


def version(mailbox_id: int) -> int:
    with _changed:
        return _versions.get(mailbox_id, 0)


def wait_for_news(mailbox_id: int, seen: int, timeout: float) -> bool:
    """Sleep up to `timeout` seconds; True as soon as the mailbox moved past version `seen`."""
    with _changed:
        return _changed.wait_for(lambda: _versions.get(mailbox_id, 0) != seen, timeout)
