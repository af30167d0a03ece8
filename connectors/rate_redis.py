"""Throttle state in Redis, for installs with REDIS_URL: one round trip per request, exact.

Through Django's cache a step was a GET and a SET of a pickled float (two round trips, about
1.5 ms of a one-record ingest request's CPU), and two processes reading the same due time
both passed. Here the GCRA step (`connectors.throttling`) runs inside Redis as one script:
atomic across every process of every host, one round trip, no pickling.
"""

from __future__ import annotations

import math

import redis

# KEYS[1]: the key. ARGV: now, interval, slack (seconds, as text). The answer is text too:
# Redis turns a Lua number into an integer, and waits are fractions of a second.
STEP = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local due = tonumber(redis.call('GET', KEYS[1])) or now
if due < now then due = now end
if due - now > slack then return tostring(due - now - slack) end
redis.call('SET', KEYS[1], string.format('%.6f', due + interval), 'PX', ARGV[4])
return '0'
"""
PREFIX = "superconnector:throttle:"


class RedisDueTimes:
    """GCRA due times in Redis, with the same `step` as `SharedSlots`."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(STEP)

    def step(self, key: str, now: float, interval: float, slack: float) -> float:
        # Kept a second past the time it stops mattering (when the due time is no debt).
        expires_ms = math.ceil((interval + slack) * 1000) + 1000
        wait = self.script(
            keys=[PREFIX + key], args=[repr(now), repr(interval), repr(slack), expires_ms]
        )
        return float(wait)
