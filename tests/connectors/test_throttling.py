"""The per-connector rate: a burst of N, then one request every period / N, exact Retry-After.

Each test runs on both homes of the state: the shared cache (Redis in production) and the
memory-mapped file used without Redis.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import time_machine

from connectors.throttling import IngestRateThrottle, MailboxRateThrottle, is_valid_rate


@pytest.fixture(autouse=True, params=["cache", "state file"])
def state(request, settings, tmp_path):
    settings.THROTTLE_STATE_FILE = (
        str(tmp_path / "throttle") if request.param == "state file" else ""
    )


def request_of(pk: int, rate: str = "") -> SimpleNamespace:
    return SimpleNamespace(auth=SimpleNamespace(pk=pk, throttle_rate=rate))


def passes(throttle_class, request) -> bool:
    return throttle_class().allow_request(request, None)


def test_it_lets_a_burst_of_n_through_then_one_every_period_over_n():
    request = request_of(1, "3/min")
    with time_machine.travel(1_000_000, tick=False) as clock:
        assert [passes(IngestRateThrottle, request) for _ in range(4)] == [True] * 3 + [False]
        refused = IngestRateThrottle()
        assert not refused.allow_request(request, None)
        assert refused.wait() == pytest.approx(20.0)
        clock.shift(19.9)
        assert not passes(IngestRateThrottle, request)
        clock.shift(0.2)
        assert [passes(IngestRateThrottle, request) for _ in range(2)] == [True, False]


def test_each_connector_and_each_scope_has_its_own_count():
    with time_machine.travel(2_000_000, tick=False):
        assert [passes(IngestRateThrottle, request_of(1, "1/s")) for _ in range(2)] == [True, False]
        assert passes(IngestRateThrottle, request_of(2, "1/s"))
        assert passes(MailboxRateThrottle, request_of(1, "1/s"))


def test_without_a_rate_of_its_own_a_connector_gets_the_scopes_default(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"ingest": "2/hour", "mailbox": "1/day"},
    }
    with time_machine.travel(3_000_000, tick=False):
        assert [passes(IngestRateThrottle, request_of(1)) for _ in range(3)] == [True, True, False]
        refused = MailboxRateThrottle()
        assert passes(MailboxRateThrottle, request_of(1))
        assert not refused.allow_request(request_of(1), None)
        assert refused.wait() == pytest.approx(86400)


def test_it_knows_a_valid_rate():
    assert all(is_valid_rate(r) for r in ("600/min", "1/s", "10/hour", "5/day", "3/m"))
    assert not any(
        is_valid_rate(r) for r in ("", "0/min", "-1/min", "ten/min", "5/week", "5", "²/s")
    )
