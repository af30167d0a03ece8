"""A whole installation for a benchmark: a fresh database, web servers and workers on 127.0.0.1.

The benchmark process never imports Django: it migrates and counts through `manage.py`
and configures through the management API, as an operator would, so one process can
measure SQLite and PostgreSQL one after the other.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.crash.processes import WebServer, Workers, private_redis_url, process_env  # noqa: E402

# Benchmarks take a Redis database of their own, far from the test runs' (1, 2, ...).
BENCH_REDIS_DB = 15
ADMIN_PASSWORD = secrets.token_urlsafe(16)


def databases() -> list[tuple[str, str | None]]:
    """The databases every benchmark measures: SQLite always, PostgreSQL too when
    DATABASE_URL names one (`make bench-postgres` starts a throwaway one). Each pair is a
    column label and the URL to give `Stack` (None: a fresh SQLite file)."""
    url = os.environ.get("DATABASE_URL", "")
    pairs: list[tuple[str, str | None]] = [("SQLite", None)]
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        pairs.append(("PostgreSQL", url))
    return pairs


class Stack:
    """A fresh, migrated database with an admin token; web and worker processes on demand.

    `database_url` None: an SQLite file in a temporary directory. A PostgreSQL URL: a new
    database on that server (created here, dropped by `close`), never the one named.
    `redis_url` None: REDIS_URL beside PostgreSQL, none beside SQLite, each measured as it
    is deployed (an SQLite install is one box: the ORM broker, throttle state in a file).
    """

    def __init__(self, database_url: str | None = None, redis_url: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="superconnector-bench-"))
        self.pg_admin_url = ""
        if database_url:
            self.pg_admin_url = database_url
            self.db_url = self._create_pg_database(database_url)
        else:
            self.db_url = f"sqlite:///{self.dir / 'bench.sqlite3'}"
        if redis_url is None:
            redis_url = os.environ.get("REDIS_URL", "") if database_url else ""
        self.redis_url = private_redis_url(redis_url, BENCH_REDIS_DB)
        if self.redis_url:
            import redis

            redis.from_url(self.redis_url).flushdb()
        self.env = process_env(
            self.db_url,
            self.redis_url,
            # The benchmarks measure ingest, not the per-connector throttle.
            INGEST_THROTTLE_RATE="1000000/s",
            MAILBOX_THROTTLE_RATE="1000000/s",
            API_THROTTLE_RATE="1000000/s",
            DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        )
        self.processes: list = []
        self.token = ""

    @property
    def vendor(self) -> str:
        return "postgresql" if self.pg_admin_url else "sqlite"

    def setup(self) -> Stack:
        self.manage("migrate", "--noinput")
        self.manage(
            "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com"
        )
        out = self.manage("drf_create_token", "admin")
        self.token = out.split()[2]
        return self

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def query(self, python: str) -> str:
        """Run Python in `manage.py shell` against this database; what it printed."""
        return self.manage("shell", "--no-imports", "-c", python).strip()

    def web(self, *, workers: int = 2, threads: int = 4) -> WebServer:
        server = WebServer(
            self.env, self.dir / f"web-{len(self.processes)}.log", workers=workers, threads=threads
        )
        self.processes.append(server)
        return server.start()

    def workers(self, *, workers: int = 2) -> Workers:
        cluster = Workers(
            self.env, self.dir / f"workers-{len(self.processes)}.log", workers=workers
        )
        self.processes.append(cluster)
        return cluster.start()

    def api(self, server: WebServer, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(
            method,
            server.url + path,
            json=body,
            headers={"Authorization": f"Token {self.token}"},
            timeout=30,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json()

    def fan_out(
        self, server: WebServer, fields: list[dict], receiver_url: str, **destination
    ) -> tuple[dict, dict, dict]:
        """An ingest endpoint fanned out by two pipelines to an HTTP destination at
        `receiver_url` (with the `destination` options) and to a mailbox, configured through
        the API as an operator would: (source, destination, mailbox)."""
        schema = {"fields": fields}
        connectors = "/api/v1/connectors/"
        source = self.api(
            server,
            "POST",
            connectors,
            {"name": "Orders", "kind": "ingest_endpoint", "schema": schema},
        )
        hook = self.api(
            server,
            "POST",
            connectors,
            {
                "name": "Receiver",
                "kind": "http_destination",
                "schema": schema,
                "url": receiver_url,
                "method": "POST",
                **destination,
            },
        )
        box = self.api(
            server, "POST", connectors, {"name": "Outbox", "kind": "mailbox", "schema": schema}
        )
        for target in (hook, box):
            self.api(
                server,
                "POST",
                "/api/v1/pipelines/",
                {
                    "name": f"To {target['name']}",
                    "source": source["id"],
                    "destination": target["id"],
                },
            )
        return source, hook, box

    def logs(self) -> str:
        return "\n".join(process.log() for process in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        if self.pg_admin_url:
            self._drop_pg_database()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- PostgreSQL: a database of our own on the server we were given ------------------------

    def _create_pg_database(self, url: str) -> str:
        import psycopg

        self.pg_name = f"superconnector_bench_{secrets.token_hex(4)}"
        with psycopg.connect(maintenance_url(url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{self.pg_name}"))

    def _drop_pg_database(self) -> None:
        import psycopg

        with psycopg.connect(maintenance_url(self.pg_admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def psycopg_url(url: str) -> str:
    """A DATABASE_URL as libpq takes it."""
    # django-environ accepts postgres://, postgresql:// and pgsql://; libpq the first two.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def maintenance_url(url: str) -> str:
    """The server's `postgres` database: the one named in the URL may not exist (tests only create test_*)."""
    return urlunsplit(urlsplit(psycopg_url(url))._replace(path="/postgres"))
