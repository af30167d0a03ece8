"""Mailbox polling: pages/s of 1,000-record pages through the real API, against the raw limit.

``run()`` returns a markdown section; ``python bench/bench_mailbox.py`` prints it.

In one run, on every database of `bench.stack.databases()` (an SQLite file always, a fresh
PostgreSQL database when DATABASE_URL names a server): two mailboxes, of 1,000 and of
1,000,000 records (migrated and configured by Django in a child process, filled with sqlite3's
executemany or psycopg's COPY). Two gunicorn servers from the venv serve it on 127.0.0.1 with
the deployed configuration (osmosproject/gunicorn.conf.py, one worker each): the Django project
as deployed (`osmosproject.wsgi`, DEBUG off, bearer token, throttle, middleware), and `raw_app`
below, a bare WSGI app with no Django that reads the same rows with one plain SELECT (sqlite3
or psycopg) and splices the same JSON text. A requests.Session client fetches pages from each
for a fixed time, in alternating rounds. BENCH_QUICK=1: 100,000 records and shorter rounds.

Pages of the big mailbox are read at positions spread over the whole mailbox, the last page
included: a keyset read costs the same at record 999,000 as at record 0, where OFFSET would
scan everything before. A few positions only, so that both mailboxes are read from SQLite's
page cache (PostgreSQL's shared buffers) and the comparison is of the reads, not of the disk.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Stack, databases, psycopg_url  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
PAGE = 1000
SMALL, BIG = 1_000, 100_000 if QUICK else 1_000_000
ROUNDS = 3 if QUICK else 5
ROUND_SECONDS = 0.5 if QUICK else 1.0
WARM_UP_SECONDS = 0.5
# Pages of the big mailbox start at these many positions, spread over all of it.
SPREAD = 5
# The throttle stays on; a per-second window keeps DRF's request history (pickled on every
# request) as short as it is for a real customer at the default 6000/min.
SERVER_ENV = {
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    # DEBUG off wants a key for secrets at rest; the same one for the child that builds the
    # database and the servers (a Fernet key: 32 bytes in URL-safe base64).
    "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"bench-field-key-not-for-prod-32b").decode(),
    "DEBUG": "False",
    # Plain HTTP on 127.0.0.1, as behind the TLS-terminating proxy of a deployment.
    "SECURE_SSL_REDIRECT": "False",
    "MAILBOX_THROTTLE_RATE": "1000000/s",
    "LOG_LEVEL": "WARNING",
}
# The timestamp as ISO text, as the database writes it for the API (mailbox/expressions.py).
RAW_SQL = {
    "sqlite": "SELECT seq, REPLACE(created_at, ' ', 'T') || 'Z', data FROM mailbox_mailboxrecord "
    "WHERE mailbox_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    "postgresql": "SELECT seq, to_char(created_at AT TIME ZONE 'UTC', "
    '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\'), data FROM mailbox_mailboxrecord '
    "WHERE mailbox_id = %s AND seq > %s ORDER BY seq LIMIT %s",
}
TARGET_RATIO = 0.40
# Timing noise on a shared machine: "costs no more" allows this much.
COST_TOLERANCE = 1.15


# --- the raw limit: no Django, the same rows, the same splicing ---------------------------------

_raw = threading.local()


def _raw_read(mailbox_id: int, after: int) -> list[tuple]:
    """One plain SELECT on a connection kept per thread, as CONN_MAX_AGE keeps Django's."""
    url = os.environ["BENCH_DB"]
    if not hasattr(_raw, "db"):
        if url.startswith("sqlite:///"):
            _raw.db, _raw.sql = sqlite3.connect(url.removeprefix("sqlite:///")), RAW_SQL["sqlite"]
        else:
            import psycopg

            _raw.db = psycopg.connect(psycopg_url(url), autocommit=True)
            _raw.sql = RAW_SQL["postgresql"]
    return _raw.db.execute(_raw.sql, (mailbox_id, after, PAGE + 1)).fetchall()


def raw_app(environ, start_response):
    query = parse_qs(environ["QUERY_STRING"])
    mailbox_id, after = int(query["mailbox"][0]), int(query["after"][0])
    rows = _raw_read(mailbox_id, after)
    has_more = len(rows) > PAGE
    rows = rows[:PAGE]
    records = ",".join(
        f'{{"id":{seq},"created_at":"{created}","data":{data}}}' for seq, created, data in rows
    )
    next_cursor = rows[-1][0] if rows else after
    body = (
        f'{{"records":[{records}],"next":"{next_cursor}","has_more":{"true" if has_more else "false"}}}'
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


# --- the database: built by Django in a child process ------------------------------------------


def prepare(db_url: str) -> dict:
    """Migrate, create the two mailboxes, fill them; returns what the client needs to read them."""
    os.environ.update(SERVER_ENV, DATABASE_URL=db_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "osmosproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from connectors.models import Connector
    from mailbox.cursors import encode_cursor

    call_command("migrate", verbosity=0)
    fields = [
        {"name": "order_id", "type": "integer", "required": True},
        {"name": "email", "type": "email", "required": True},
        {"name": "customer.name", "type": "string"},
        {"name": "customer.country", "type": "string"},
        {"name": "amount", "type": "number"},
        {"name": "paid", "type": "boolean"},
    ]
    mailboxes = {}
    for size in (SMALL, BIG):
        mailbox = Connector.objects.create(name=f"Bench {size}", kind=Connector.Kind.MAILBOX)
        mailbox.schema.replace_fields(fields)
        mailboxes[size] = {"id": mailbox.pk, "slug": mailbox.slug, "token": mailbox.rotate_token()}
    connection.close()
    if db_url.startswith("sqlite:///"):
        _fill_sqlite(db_url.removeprefix("sqlite:///"), mailboxes)
    else:
        _fill_postgresql(db_url, mailboxes)

    for size, mailbox in mailboxes.items():
        positions = (
            [0] if size == SMALL else [(k * 7919) % (size // PAGE) * PAGE for k in range(SPREAD)]
        )
        mailbox["pages"] = [(p, encode_cursor(mailbox["id"], p)) for p in positions]
    return mailboxes


def _fill_sqlite(path: str, mailboxes: dict) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    with db:
        for size, mailbox in mailboxes.items():
            db.executemany(
                "INSERT INTO mailbox_mailboxrecord (mailbox_id, seq, data, run_id, created_at)"
                " VALUES (?, ?, ?, NULL, ?)",
                _rows(mailbox["id"], size),
            )
            db.execute(
                "INSERT INTO mailbox_mailboxsequence (mailbox_id, last_seq) VALUES (?, ?)",
                (mailbox["id"], size),
            )
    db.execute("ANALYZE")
    db.close()


def _fill_postgresql(url: str, mailboxes: dict) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as db:
        for size, mailbox in mailboxes.items():
            with db.cursor().copy(
                "COPY mailbox_mailboxrecord (mailbox_id, seq, data, created_at) FROM STDIN"
            ) as copy:
                for mailbox_id, seq, data, created in _rows(mailbox["id"], size):
                    copy.write_row((mailbox_id, seq, data, created + "+00"))
            db.execute(
                "INSERT INTO mailbox_mailboxsequence (mailbox_id, last_seq) VALUES (%s, %s)",
                (mailbox["id"], size),
            )
    with psycopg.connect(psycopg_url(url), autocommit=True) as db:
        db.execute("VACUUM ANALYZE mailbox_mailboxrecord")


def _rows(mailbox_id: int, size: int):
    import orjson

    for seq in range(1, size + 1):
        record = {
            "order_id": seq,
            "email": f"customer{seq}@example.com",
            "customer": {"name": f"Customer {seq}", "country": "FR"},
            "amount": seq % 1000 + 0.25,
            "paid": seq % 2 == 0,
        }
        # Django's SQLite storage of an aware UTC datetime: naive, space-separated, microseconds.
        minute, second = divmod(seq // 1000, 60)
        created = (
            f"2026-03-02 {9 + minute // 60:02d}:{minute % 60:02d}:{second:02d}.{seq % 1000:03d}123"
        )
        yield (mailbox_id, seq, orjson.dumps(record).decode(), created)


# --- the servers and the client -------------------------------------------------------------


def _serve(app: str, env: dict) -> tuple[subprocess.Popen, str]:
    # The parent binds the port and hands the socket over: no window in which another
    # process could take a port we picked.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "osmosproject/gunicorn.conf.py", app],
        cwd=ROOT,
        env={**env, "BIND": f"fd://{listener.fileno()}", "WEB_CONCURRENCY": "1", "ACCESS_LOG": ""},
        stdout=subprocess.DEVNULL,
        pass_fds=[listener.fileno()],
    )
    listener.close()
    return process, f"http://127.0.0.1:{port}"


def _wait_until_up(fetch, page, process: subprocess.Popen) -> None:
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a bench server exited with {process.returncode}")
        try:
            if fetch(page).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("a bench server did not start within 30 s")


def _django_fetch(session, base: str, mailbox: dict):
    url = f"{base}/api/v1/mailbox/{mailbox['slug']}/"
    headers = {"Authorization": f"Bearer {mailbox['token']}"}
    return lambda page: session.get(url, params={"after": page[1], "limit": PAGE}, headers=headers)


def _raw_fetch(session, base: str, mailbox: dict):
    return lambda page: session.get(base, params={"mailbox": mailbox["id"], "after": page[0]})


def _pages_per_second(fetch, pages: list, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        response = fetch(pages[count % len(pages)])
        if response.status_code != 200 or len(response.content) < PAGE * 100:
            raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")
        count += 1
    return count / elapsed


def _same_records(django_page: bytes, raw_page: bytes) -> bool:
    ours, raw = json.loads(django_page), json.loads(raw_page)
    return len(ours["records"]) == PAGE and [(r["id"], r["data"]) for r in ours["records"]] == [
        (r["id"], r["data"]) for r in raw["records"]
    ]


def measure(db_url: str, mailboxes: dict) -> dict[int, dict[str, float]]:
    import requests

    # Persistent database connections (CONN_MAX_AGE), as a deployment configures them: the raw
    # app keeps its connection too (SQLite's page cache lives and dies with a connection).
    separator = "&" if "?" in db_url else "?"
    database_url = f"{db_url}{separator}conn_max_age=600"
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": database_url, "BENCH_DB": db_url}
    servers = [
        _serve("osmosproject.wsgi:application", env),
        _serve("bench.bench_mailbox:raw_app", env),
    ]
    try:
        (_, django_url), (_, raw_url) = servers
        ours, raw = requests.Session(), requests.Session()
        fetchers = {}
        for size, mailbox in mailboxes.items():
            fetchers[size] = {
                "ours": _django_fetch(ours, django_url, mailbox),
                "raw": _raw_fetch(raw, raw_url, mailbox),
            }
            deep = mailbox["pages"][-1]
            _wait_until_up(fetchers[size]["ours"], deep, servers[0][0])
            _wait_until_up(fetchers[size]["raw"], deep, servers[1][0])
            # A fast answer that is wrong would be meaningless.
            same = _same_records(
                fetchers[size]["ours"](deep).content, fetchers[size]["raw"](deep).content
            )
            assert same, "the servers disagree"
            for fetch in fetchers[size].values():
                _pages_per_second(fetch, mailbox["pages"], WARM_UP_SECONDS)
        # Rounds alternate between the servers and the sizes so that load from elsewhere on
        # the machine hits them alike; the best round of each is its speed (as timeit does).
        best = {size: {"ours": 0.0, "raw": 0.0} for size in mailboxes}
        for _ in range(ROUNDS):
            for size, mailbox in mailboxes.items():
                for name, fetch in fetchers[size].items():
                    speed = _pages_per_second(fetch, mailbox["pages"], ROUND_SECONDS)
                    best[size][name] = max(best[size][name], speed)
        return best
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=10)


def measure_on(database_url: str | None) -> tuple[dict[int, dict[str, float]], float]:
    """Build the two mailboxes on one database (a fresh one) and read them; (figures, seconds)."""
    started = time.perf_counter()
    # Stack only for its fresh database (an SQLite file, or a new PostgreSQL database).
    stack = Stack(database_url=database_url, redis_url="")
    try:
        # Django is set up in a child process, so run() works beside any other bench.
        child = subprocess.run(
            [sys.executable, __file__, "--prepare", stack.db_url],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        mailboxes = {int(size): m for size, m in json.loads(child.stdout).items()}
        results = measure(stack.db_url, mailboxes)
    finally:
        stack.close()
    return results, time.perf_counter() - started


def run() -> str:
    return _report({label: measure_on(url) for label, url in databases()})


def _report(by_database: dict[str, tuple[dict[int, dict[str, float]], float]]) -> str:
    labels = list(by_database)
    lines = [
        "### Mailbox polling",
        "",
        f"Pages of {PAGE:,} records (about 150 bytes of JSON each) through gunicorn "
        "(osmosproject/gunicorn.conf.py, one worker) on 127.0.0.1 with a requests.Session "
        f"client, on {' and on '.join(labels)}; the raw limit is a bare WSGI app on the same "
        "database reading the same rows with one plain SELECT (sqlite3, psycopg) and splicing "
        "the same JSON text. Both keep their database connection (`conn_max_age=600` in "
        f"DATABASE_URL). Best of {ROUNDS} alternating rounds of {ROUND_SECONDS:g} s; pages of "
        f"the big mailbox read at {SPREAD} positions from the first to the last.",
        "",
        "| records in the mailbox | "
        + " | ".join(
            f"{label} raw pages/s | API pages/s | ratio | ms per page (API)" for label in labels
        )
        + " |",
        "|---:|" + "---:|---:|---:|---:|" * len(labels),
    ]
    for size in (SMALL, BIG):
        cells = [f"{size:,}"]
        for label in labels:
            r = by_database[label][0][size]
            cells += [
                f"{r['raw']:,.0f}",
                f"{r['ours']:,.0f}",
                f"{r['ours'] / r['raw']:.0%}",
                f"{1000 / r['ours']:.2f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Targets: at least {TARGET_RATIO:.0%} of the raw limit; a page from {BIG:,} records "
        f"costs no more than one from {SMALL:,} (tolerance {COST_TOLERANCE}x for timing noise).",
        "",
    ]
    for label, (results, seconds) in by_database.items():
        ratio = min(r["ours"] / r["raw"] for r in results.values())
        cost = results[SMALL]["ours"] / results[BIG]["ours"]
        lines.append(
            f"- {label}: ratio **{'met' if ratio >= TARGET_RATIO else 'not met'}** "
            f"(lowest {ratio:.0%}); a page from {BIG:,} costs {cost:.2f}x one from {SMALL:,}: "
            f"**{'met' if cost <= COST_TOLERANCE else 'not met'}**; whole run, building the "
            f"{BIG:,}-record database included: {seconds:.0f} s."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare"]:
        print(json.dumps(prepare(sys.argv[2])))
    else:
        print(run())
