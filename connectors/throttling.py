"""A request rate per connector (ingest endpoint, mailbox), one limit for every web process.

GCRA, the "generic cell rate algorithm": the shared cache holds one timestamp per connector,
the time its next request is due, where DRF's SimpleRateThrottle keeps a list of every
request in the period (at the default 6000/min, thousands of timestamps read and written
on each request). A burst of up to N requests passes at once, then one every period / N,
which is what "N per period" means to a sender; Retry-After says exactly when.

Where the due times live: with Redis, in Redis, each step one script run there
(`connectors.rate_redis`); without it, in a memory-mapped file beside the database
(`THROTTLE_STATE_FILE`, see `connectors.rate_slots`), which every process on the machine
shares at a fraction of a file cache write's cost. Both are exact across processes.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from connectors.rate_redis import RedisDueTimes
from connectors.rate_slots import SharedSlots

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600, 60): requests and seconds ("s", "m", "h", "d" and any longer word)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[:1]]


def is_valid_rate(rate: str) -> bool:
    count, _, period = rate.partition("/")
    return count.isascii() and count.isdigit() and int(count) > 0 and period[:1] in PERIODS


class ConnectorRateThrottle(BaseThrottle):
    """The rate of `request.auth`, the connector whose token matched: its own, or the scope's."""

    scope: str = ""  # the DEFAULT_THROTTLE_RATES entry for connectors without their own rate
    retry_after: float | None = None

    def allow_request(self, request, view) -> bool:
        wait = self.wait_for(request.auth)
        self.retry_after = wait or None
        return not wait

    @classmethod
    def wait_for(cls, connector) -> float:
        """Take one request of `connector`'s rate: 0.0 if it may pass, else the seconds to wait."""
        rate = connector.throttle_rate or api_settings.DEFAULT_THROTTLE_RATES[cls.scope]
        count, period = parse_rate(rate)
        interval = period / count
        # How far ahead of now the next due time may run: N - 1 intervals make a burst of N.
        slack = period - interval
        key = f"throttle:{cls.scope}:{connector.pk}"
        return throttle_state().step(key, time.time(), interval, slack)

    def wait(self) -> float | None:
        return self.retry_after


class CachedDueTimes:
    """The due times in Django's cache, with the same `step` as `SharedSlots`."""

    def step(self, key: str, now: float, interval: float, slack: float) -> float:
        due = max(cache.get(key, now), now)
        if due - now > slack:
            return due - now - slack
        # Two processes may read the same due time and both pass: the limit is exact to
        # within the requests that arrive in the same instant, as DRF's own throttles are.
        cache.set(key, due + interval, timeout=math.ceil(interval + slack) + 1)
        return 0.0


CACHED_DUE_TIMES = CachedDueTimes()
_states: dict[str, SharedSlots | RedisDueTimes] = {}


def throttle_state() -> SharedSlots | RedisDueTimes | CachedDueTimes:
    """Redis when settings name one for the throttle (THROTTLE_REDIS_URL), the memory-mapped
    state file when they name that (no Redis), else the cache (tests, a CACHE_URL of one's
    own)."""
    url = getattr(settings, "THROTTLE_REDIS_URL", "")
    path = getattr(settings, "THROTTLE_STATE_FILE", "")
    if url:
        if url not in _states:
            _states[url] = RedisDueTimes(url)
        return _states[url]
    if not path:
        return CACHED_DUE_TIMES
    if path not in _states:
        _states[path] = SharedSlots(path)
    return _states[path]


class IngestRateThrottle(ConnectorRateThrottle):
    scope = "ingest"


class MailboxRateThrottle(ConnectorRateThrottle):
    scope = "mailbox"
