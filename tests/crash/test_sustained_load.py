"""A short run of the load benchmark (bench/bench_load.py) in the suite: the same promises, kept.

Ingest at a steady rate while workers deliver to an HTTP receiver and a consumer reads a
mailbox: no 5xx, no "database is locked", every record counted and delivered once. The
benchmark runs the same code for 60 s and writes its figures to docs/benchmarks.md.
"""

from __future__ import annotations

import os

import pytest

from bench.bench_load import run_load

DURATION_SECONDS = 8
REQUESTS_PER_SECOND = 5


@pytest.mark.slow
def test_it_keeps_every_promise_under_sustained_load():
    # On PostgreSQL the benchmark creates (and drops) a database of its own on that server.
    url = os.environ.get("DATABASE_URL", "")
    postgres = url if url.startswith(("postgres://", "postgresql://", "pgsql://")) else None

    result = run_load(
        postgres, duration=DURATION_SECONDS, rate=REQUESTS_PER_SECOND, drain_seconds=90
    )

    assert result.ok, result.problems
    assert result.statuses == {202: result.requests}
    assert result.accepted == result.delivered_http == result.delivered_mailbox > 0
    assert result.rejected > 0
    assert result.received == result.accepted + result.rejected
