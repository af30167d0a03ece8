"""DATABASE_POOL_SIZE: PostgreSQL connections lent from a psycopg pool instead of one per thread."""

from __future__ import annotations

import sys

import pytest

from tests.ops.test_deploy_check import run

SHOW_POOL = (
    "from django.db import connection; from django.conf import settings; "
    "pool = connection.pool; "
    "print(type(pool).__name__, pool.min_size, pool.max_size, pool.timeout, "
    "settings.DATABASES['default']['CONN_MAX_AGE'])"
)


@pytest.mark.slow
def test_it_lends_postgresql_connections_from_a_pool_of_the_size_asked():
    # Only settings and the pool object: nothing connects to this address.
    result = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW_POOL],
        DEBUG="True",
        DATABASE_URL="postgres://superconnector@127.0.0.1:9/superconnector",
        DATABASE_POOL_SIZE="6",
    )

    assert result.returncode == 0, result.stderr
    # Two kept open, six at most, a request waits 10 s for one; no connection kept by a thread.
    assert result.stdout.split() == ["ConnectionPool", "2", "6", "10.0", "0"]


@pytest.mark.slow
def test_it_keeps_one_connection_per_thread_without_the_setting():
    show = (
        "from django.db import connection; from django.conf import settings; "
        "print(connection.pool, settings.DATABASES['default']['CONN_MAX_AGE'])"
    )
    result = run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
        DEBUG="True",
        DATABASE_URL="postgres://superconnector@127.0.0.1:9/superconnector",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "60"]


@pytest.mark.slow
def test_it_refuses_a_pool_on_sqlite(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check"],
        DEBUG="True",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DATABASE_POOL_SIZE="4",
    )

    assert result.returncode != 0
    assert "DATABASE_POOL_SIZE needs a PostgreSQL DATABASE_URL." in result.stderr
