"""The baseline a user could run instead of our ingest endpoint: a bare WSGI app.

No framework: the body parsed with orjson, a hand-written type check per field, one
`executemany` per request into an SQLite file in WAL mode, or into PostgreSQL with psycopg
when BARE_DB is a PostgreSQL URL (one connection per thread, one transaction per request),
a 202 with the counts. Served by
the same gunicorn configuration as the product (bench/bench_webhooks.py starts both), so the
ratio between them is what our framework, validation, mapping and bookkeeping cost.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading

import orjson

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHECKS = {
    "id": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "email": lambda v: isinstance(v, str) and EMAIL.match(v) is not None,
    "name": lambda v: isinstance(v, str),
    "amount": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "quantity": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "paid": lambda v: isinstance(v, bool),
    "ordered_at": lambda v: isinstance(v, str) and len(v) >= 19,
    "country": lambda v: isinstance(v, str),
    "tags": lambda v: True,
    "note": lambda v: isinstance(v, str),
}
REQUIRED = ("id", "email")
# An SQLite file, or a PostgreSQL URL.
PATH = os.environ.get("BARE_DB", "/tmp/bare-ingest.sqlite3")
local = threading.local()


def db():
    if not hasattr(local, "conn"):
        local.conn = connect_postgresql() if "://" in PATH else connect_sqlite()
    return local.conn


def connect_sqlite() -> sqlite3.Connection:
    conn = sqlite3.connect(PATH, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, data TEXT)")
    return conn


def connect_postgresql():
    import psycopg

    from bench.stack import psycopg_url

    conn = psycopg.connect(psycopg_url(PATH), autocommit=True)
    with conn.transaction():
        # Every thread of every process creates the table at its first request: one at a time.
        conn.execute("SELECT pg_advisory_xact_lock(4242)")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bare_records (id bigserial PRIMARY KEY, data text)"
        )
    return conn


def store(rows: list[tuple[str]]) -> None:
    conn = db()
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO records (data) VALUES (?)", rows)
        conn.execute("COMMIT")
    else:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany("INSERT INTO bare_records (data) VALUES (%s)", rows)


def valid(record) -> bool:
    if not isinstance(record, dict) or any(record.get(k) is None for k in REQUIRED):
        return False
    return all(check(record[k]) for k, check in CHECKS.items() if record.get(k) is not None)


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        document = orjson.loads(environ["wsgi.input"].read(length))
    except orjson.JSONDecodeError:
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [b'{"detail": "not JSON"}']
    records = document if isinstance(document, list) else [document]
    good = [(orjson.dumps(r).decode(),) for r in records if valid(r)]
    store(good)
    body = orjson.dumps(
        {"received": len(records), "accepted": len(good), "rejected": len(records) - len(good)}
    )
    start_response("202 Accepted", [("Content-Type", "application/json")])
    return [body]
