"""The throttle's state in Redis: one script per step, exact across processes.

Which state production settings choose runs in every pass. The rest needs a Redis server: it
is defined in the PostgreSQL + Redis pass of the suite (`make test-postgres`, which `.ci/run`
runs with REDIS_URL set), not in the SQLite pass.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from connectors.rate_redis import RedisDueTimes
from tests.crash.processes import private_redis_url, xdist_index

NOW = 1_000_000.0
REDIS_URL = os.environ.get("REDIS_URL", "")


def take(url: str, go, passed) -> None:
    state = RedisDueTimes(url)
    go.wait()
    mine = sum(state.step("busy", NOW, 1.0, 1999.0) == 0.0 for _ in range(2000))
    with passed.get_lock():
        passed.value += mine


def throttle_settings(**env: str) -> dict:
    """THROTTLE_REDIS_URL and THROTTLE_STATE_FILE as production settings make them from `env`."""
    keep = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_URL")}
    keep = {k: v for k, v in keep.items() if not k.startswith(("PYTEST_", "DJANGO_", "TESTING"))}
    code = (
        "import json; from django.conf import settings as s; print(json.dumps("
        "[getattr(s, 'THROTTLE_REDIS_URL', None), getattr(s, 'THROTTLE_STATE_FILE', None)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **keep,
            "DJANGO_SETTINGS_MODULE": "osmosproject.settings",
            "DEBUG": "False",
            "TESTING": "False",
            "SECRET_KEY": "k" * 50,
            "DATABASE_URL": f"sqlite:///{django_settings.BASE_DIR}/unused.sqlite3",
            **env,
        },
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    redis_url, state_file = json.loads(out.splitlines()[-1])
    return {"redis": redis_url, "file": state_file}


@pytest.mark.parametrize(
    ("env", "redis", "file"),
    [
        ({"REDIS_URL": "redis://queue.internal:6379/0"}, "redis://queue.internal:6379/0", False),
        (
            {"REDIS_URL": "redis://q:6379/0", "CACHE_URL": "redis://c:6379/1"},
            "redis://c:6379/1",
            False,
        ),
        ({"CACHE_URL": "dummycache://"}, None, False),
        ({}, None, True),
    ],
    ids=["redis", "a-redis-cache", "another-cache", "neither"],
)
def test_rate_limits_live_in_the_redis_of_the_cache(env, redis, file):
    chosen = throttle_settings(**env)
    assert chosen["redis"] == redis
    assert bool(chosen["file"]) is file


if REDIS_URL:

    @pytest.fixture
    def redis_url() -> str:
        import redis

        url = private_redis_url(REDIS_URL, 8 + xdist_index())
        redis.from_url(url).flushdb()
        return url

    def test_it_passes_a_burst_then_says_how_long_to_wait(redis_url):
        state = RedisDueTimes(redis_url)
        # 3 per 60 s: one every 20 s, a burst of 3.
        steps = [state.step("k", NOW, 20.0, 40.0) for _ in range(4)]
        assert steps[:3] == [0.0, 0.0, 0.0]
        assert steps[3] == pytest.approx(20.0)
        assert state.step("k", NOW + 20.0, 20.0, 40.0) == 0.0
        assert state.step("k", NOW + 20.0, 20.0, 40.0) == pytest.approx(20.0)

    def test_a_wait_keeps_its_fraction_of_a_second(redis_url):
        state = RedisDueTimes(redis_url)
        assert state.step("k", NOW, 0.25, 0.0) == 0.0
        assert state.step("k", NOW + 0.1, 0.25, 0.0) == pytest.approx(0.15)

    def test_processes_racing_on_one_key_pass_exactly_the_burst(redis_url):
        go, passed = multiprocessing.Event(), multiprocessing.Value("i", 0)
        workers = [
            multiprocessing.Process(target=take, args=(redis_url, go, passed)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        go.set()
        for worker in workers:
            worker.join(60)
        # A burst of 2,000 from 8,000 tries: a read-then-write store lets more through.
        assert passed.value == 2000

    def test_an_ingest_endpoint_over_its_rate_gets_429_with_redis(db, redis_url, settings, client):
        from connectors import throttling
        from tests.helpers import make_connector

        settings.THROTTLE_REDIS_URL = redis_url
        assert isinstance(throttling.throttle_state(), RedisDueTimes)
        source = make_connector("ingest_endpoint", "Orders", [{"name": "n", "type": "integer"}])
        source.throttle_rate = "2/min"
        source.save()
        auth = {"Authorization": f"Bearer {source.rotate_token()}"}
        answers = [
            client.post(
                f"/api/v1/ingest/{source.slug}/", {"n": i}, "application/json", headers=auth
            )
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert 0 < int(answers[2].headers["Retry-After"]) <= 30
