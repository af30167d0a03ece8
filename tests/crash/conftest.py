from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.crash.processes import Receiver, private_redis_url, process_env, xdist_index


@pytest.fixture
def live_env(transactional_db) -> dict[str, str]:
    """Environment for server and worker processes on this test's database (committed data only).

    With Redis, a database number per pytest worker keeps concurrent test runs' queues apart.
    """
    redis_url = private_redis_url(os.environ.get("REDIS_URL", ""), 1 + xdist_index())
    if redis_url:
        import redis

        redis.from_url(redis_url).flushdb()
    from tests.crash.processes import database_url

    return process_env(database_url(connection.settings_dict), redis_url)


@pytest.fixture
def processes():
    """Processes a test starts; whatever is still running at its end is killed."""
    started: list = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture
def receiver():
    server = Receiver(delay=0.15)
    yield server
    server.close()
