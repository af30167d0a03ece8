"""The long poll: wait up to `wait` seconds for a record past a position.

Each check is one indexed EXISTS query in autocommit mode, so no transaction (and no
snapshot, and on SQLite no read lock) is held between checks. Checks start every
200 ms and back off to every second; a commit in this process wakes the wait at once.
"""

from __future__ import annotations

import time

from mailbox import arrivals
from mailbox.models import MailboxRecord

FIRST_INTERVAL = 0.2
MAX_INTERVAL = 1.0
BACKOFF = 1.5


def wait_for_records(mailbox_id: int, position: int, seconds: float) -> bool:
    """True as soon as the mailbox holds a record after `position`; False when `seconds` run out."""
    deadline = time.monotonic() + seconds
    interval = FIRST_INTERVAL
    while True:
        seen = arrivals.version(mailbox_id)
        if MailboxRecord.objects.exists_after(mailbox_id, position):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        arrivals.wait_for_news(mailbox_id, seen, min(interval, remaining))
        interval = min(interval * BACKOFF, MAX_INTERVAL)
