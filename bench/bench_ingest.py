"""Ingest throughput and latency through a real gunicorn, against the raw limit of this machine.

The server is the production one (osmosproject/gunicorn.conf.py, DEBUG off), measured on every
database of `bench.stack.databases()`: an SQLite file always, PostgreSQL (with Redis for the
cache) when DATABASE_URL names one. Its ingest endpoint feeds a mailbox, so every accepted
record is durably stored. The load generator keeps a few keep-alive connections busy on
127.0.0.1. The baseline, on the same database in the same run: the same bodies parsed with
orjson, validated with the same compiled schema and inserted in one transaction per batch
(sqlite3 `executemany`, or psycopg `COPY`), without Django or HTTP.

``run()`` returns a markdown section; ``python bench/bench_ingest.py`` prints it.
BENCH_QUICK=1 sends a tenth of the requests (a quick check while developing).
"""

from __future__ import annotations

import http.client
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, databases, psycopg_url
from connectors.schema import CompiledSchema, FieldSpec

FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "quantity", "type": "integer"},
    {"name": "paid", "type": "boolean"},
    {"name": "ordered_at", "type": "datetime"},
    {"name": "country", "type": "string"},
    {"name": "tags", "type": "json"},
    {"name": "note", "type": "string"},
]
# batch size: requests sent (the larger the batch, the fewer requests for a steady figure)
QUICK = os.environ.get("BENCH_QUICK") == "1"
PLAN = {1: 300, 100: 30, 1000: 9} if QUICK else {1: 3000, 100: 300, 1000: 90}
ROUNDS = 3
CLIENTS = 2
WARMUP_REQUESTS = 20
SINGLE_SENDER_REQUESTS = 100 if QUICK else 1_000
# Batches of 100 fanned out to a mailbox and to an HTTP destination that takes one record a
# request (Customer.io's transactional API, most webhooks): a delivery row per record.
FAN_OUT_BATCH = 100
FAN_OUT_REQUESTS = 30 if QUICK else 150
TARGET_RATIO_AT_1000 = 0.5
TARGET_P99_MS_AT_1 = 20.0


def record(n: int) -> dict:
    return {
        "id": n,
        "email": f"customer{n}@example.com",
        "name": f"Customer {n}",
        "amount": round(n * 1.37 % 1000, 2),
        "quantity": n % 7 + 1,
        "paid": n % 2 == 0,
        "ordered_at": "2024-05-01T12:30:00+00:00",
        "country": "FR",
        "tags": ["new", "web"],
        "note": "leave at the door",
    }


def body(batch: int) -> bytes:
    return orjson.dumps([record(n) for n in range(batch)])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- The raw limit ------------------------------------------------------------------------


def raw_limit(payload: bytes, batches: int, database: str) -> tuple[float, list[float]]:
    """Records/s and per-batch latencies (s) of orjson + CompiledSchema + one transaction.

    `database`: an SQLite file path (sqlite3 `executemany`), or a PostgreSQL URL (psycopg
    `COPY`, the fastest way into PostgreSQL)."""
    validator = CompiledSchema([FieldSpec.from_dict(f) for f in FIELDS])
    store = PostgresRaw(database) if "://" in database else SqliteRaw(database)
    latencies, count = [], 0
    started = time.perf_counter()
    for _ in range(batches):
        begin = time.perf_counter()
        rows = []
        for item in orjson.loads(payload):
            clean, errors = validator.validate(item)
            if not errors:
                rows.append((orjson.dumps(clean).decode(),))
        store.insert(rows)
        count += len(rows)
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed, latencies


class SqliteRaw:
    def __init__(self, path: str):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, data TEXT NOT NULL)"
        )

    def insert(self, rows: list[tuple[str]]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT INTO records (data) VALUES (?)", rows)
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class PostgresRaw:
    def __init__(self, url: str):
        import psycopg

        self.db = psycopg.connect(psycopg_url(url), autocommit=True)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_records (id bigserial PRIMARY KEY, data text NOT NULL)"
        )

    def insert(self, rows: list[tuple[str]]) -> None:
        with (
            self.db.transaction(),
            self.db.cursor() as cursor,
            cursor.copy("COPY bench_raw_records (data) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        self.db.close()


# --- Over HTTP ----------------------------------------------------------------------------


def post_many(
    port: int, path: str, token: str, payload: bytes, count: int, clients: int
) -> tuple[float, list[float], dict]:
    """Send `count` requests over `clients` keep-alive connections; (seconds, latencies, statuses)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    remaining = iter(range(count))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if next(remaining, None) is None:
                    break
            begin = time.perf_counter()
            conn.request("POST", path, payload, headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - begin
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def measure(url: str | None) -> dict:
    """Every batch size on one database: its rows of figures, one sender's latencies, the count."""
    stack = Stack(database_url=url).setup()
    try:
        server = stack.web(workers=2, threads=4)
        source = stack.api(
            server,
            "POST",
            "/api/v1/connectors/",
            {"name": "Orders", "kind": "ingest_endpoint", "schema": {"fields": FIELDS}},
        )
        box = stack.api(
            server,
            "POST",
            "/api/v1/connectors/",
            {"name": "Orders out", "kind": "mailbox", "schema": {"fields": FIELDS}},
        )
        stack.api(
            server,
            "POST",
            "/api/v1/pipelines/",
            {
                "name": "Orders to mailbox",
                "source": source["id"],
                "destination": box["id"],
                "mappings": [],
            },
        )
        path = f"/api/v1/ingest/{source['slug']}/"
        rows = []
        for batch, count in PLAN.items():
            payload = body(batch)
            post_many(server.port, path, source["token"], payload, WARMUP_REQUESTS, CLIENTS)
            # Alternating rounds, best of each side: a burst of load from elsewhere on the
            # machine then lowers one round, not one side of the ratio.
            rates, raw_rates, latencies, raw_latencies = [], [], [], []
            for _ in range(ROUNDS):
                per_round = count // ROUNDS
                seconds, round_latencies, statuses = post_many(
                    server.port, path, source["token"], payload, per_round, CLIENTS
                )
                if set(statuses) != {202}:
                    raise RuntimeError(
                        f"batch {batch}: unexpected statuses {statuses}\n{stack.logs()[-3000:]}"
                    )
                rates.append(batch * per_round / seconds)
                latencies += round_latencies
                with tempfile.TemporaryDirectory() as scratch:
                    raw_rate, round_raw_latencies = raw_limit(
                        payload,
                        max(per_round // CLIENTS, 20),
                        stack.db_url if url else str(Path(scratch) / "raw.sqlite3"),
                    )
                raw_rates.append(raw_rate)
                raw_latencies += round_raw_latencies
            rows.append((batch, count, max(rates), max(raw_rates), latencies, raw_latencies))
        # The latency one sender sees (each request waits for the previous answer), apart from
        # the throughput runs whose clients and server share the machine's two cores.
        _, single_latencies, statuses = post_many(
            server.port, path, source["token"], body(1), SINGLE_SENDER_REQUESTS, 1
        )
        if set(statuses) != {202}:
            raise RuntimeError(f"one sender: unexpected statuses {statuses}")
        stored = stack.query(
            "from mailbox.models import MailboxRecord; print(MailboxRecord.objects.count())"
        )
        fan_out = measure_fan_out(stack, server)
    finally:
        stack.close()
    return {"rows": rows, "single": single_latencies, "stored": int(stored), "fan_out": fan_out}


def measure_fan_out(stack: Stack, server) -> dict:
    """Records/s of batches fanned out to a mailbox and to a delivery per record (no worker
    runs: the deliveries wait in the table, each with its payload), best of ROUNDS."""
    # Port 9 (discard): nothing is sent while the benchmark runs.
    source, _, _ = stack.fan_out(server, FIELDS, "http://127.0.0.1:9/", batch_size=1)
    path = f"/api/v1/ingest/{source['slug']}/"
    payload = body(FAN_OUT_BATCH)
    post_many(server.port, path, source["token"], payload, WARMUP_REQUESTS, CLIENTS)
    rates = []
    for _ in range(ROUNDS):
        seconds, _, statuses = post_many(
            server.port, path, source["token"], payload, FAN_OUT_REQUESTS // ROUNDS, CLIENTS
        )
        if set(statuses) != {202}:
            raise RuntimeError(f"fan-out: unexpected statuses {statuses}\n{stack.logs()[-3000:]}")
        rates.append(FAN_OUT_BATCH * (FAN_OUT_REQUESTS // ROUNDS) / seconds)
    deliveries = stack.query(
        "from pipelines.delivery.models import Delivery, DeliveryPayload; "
        "print(Delivery.objects.count(), DeliveryPayload.objects.count())"
    ).split()
    return {"rate": max(rates), "deliveries": [int(n) for n in deliveries]}


def run() -> str:
    results = {label: measure(url) for label, url in databases()}
    return report(results)


def report(results: dict[str, dict]) -> str:
    expected = SINGLE_SENDER_REQUESTS + sum(
        batch * (count + WARMUP_REQUESTS) for batch, count in PLAN.items()
    )
    labels = list(results)
    lines = [
        "### Ingest",
        "",
        f"`POST /api/v1/ingest/{{slug}}/` through gunicorn (2 processes x 4 threads, "
        f"DEBUG off) into a mailbox pipeline, on {' and on '.join(labels)}; {CLIENTS} keep-alive "
        "clients on 127.0.0.1; records of 10 fields. Baseline (raw limit), on the same "
        "database: the same body parsed with orjson, validated with `CompiledSchema` and "
        "inserted in one transaction (`sqlite3` executemany; psycopg `COPY` into PostgreSQL), "
        "in one thread, without Django or HTTP. Records/s: best of "
        f"{ROUNDS} alternating rounds of each; latencies over all rounds"
        + (" (PostgreSQL as `.ci/with-services` runs it: fsync off)." if len(labels) > 1 else "."),
        "",
        "| batch | requests | "
        + " | ".join(f"{label} records/s | raw limit | ratio | p50 ms | p99 ms" for label in labels)
        + " |",
        "|---:|---:|" + "---:|---:|---:|---:|---:|" * len(labels),
    ]
    for i, (batch, count, *_) in enumerate(results[labels[0]]["rows"]):
        cells = [f"{batch:,}", f"{count:,}"]
        for label in labels:
            _, _, rate, raw_rate, latencies, _ = results[label]["rows"][i]
            cells += [
                f"{rate:,.0f}",
                f"{raw_rate:,.0f}",
                f"{rate / raw_rate:.0%}",
                f"{statistics.median(latencies) * 1000:.1f}",
                f"{percentile(latencies, 0.99) * 1000:.1f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Batch 1 with one sender ({SINGLE_SENDER_REQUESTS:,} requests, each after the previous "
        "answer): "
        + "; ".join(
            f"{label} p50 {statistics.median(r['single']) * 1000:.1f} ms, "
            f"p99 {percentile(r['single'], 0.99) * 1000:.1f} ms"
            for label, r in results.items()
        )
        + f". With {CLIENTS} concurrent clients on this 2-core machine (the table) the clients "
        "and the server compete for the same cores, so those latencies include queueing.",
        "",
        f"Targets: batch 1,000 at least {TARGET_RATIO_AT_1000:.0%} of the raw limit; batch 1 "
        f"p99 (one sender) under {TARGET_P99_MS_AT_1:.0f} ms.",
        "",
    ]
    sent = FAN_OUT_BATCH * (WARMUP_REQUESTS + FAN_OUT_REQUESTS // ROUNDS * ROUNDS)
    lines += [
        f"Fanned out: batches of {FAN_OUT_BATCH} to a mailbox and to an HTTP destination that "
        "takes one record a request, so a delivery and its payload per record (no worker "
        "running: they wait to be sent), same server and clients: "
        + "; ".join(
            f"{label} {r['fan_out']['rate']:,.0f} records/s "
            f"({r['fan_out']['rate'] / next(row[2] for row in r['rows'] if row[0] == 100):.0%} "
            f"of the mailbox alone at batch 100), deliveries {r['fan_out']['deliveries'][0]:,} "
            f"and payloads {r['fan_out']['deliveries'][1]:,} of {sent:,} records"
            for label, r in results.items()
        )
        + ".",
        "",
    ]
    for label, r in results.items():
        batch_1000 = next(row for row in r["rows"] if row[0] == 1000)
        ratio_1000 = batch_1000[2] / batch_1000[3]
        p99_1 = percentile(r["single"], 0.99) * 1000
        lines.append(
            f"- {label}: ratio at 1,000 **{'met' if ratio_1000 >= TARGET_RATIO_AT_1000 else 'missed'}** "
            f"({ratio_1000:.0%}); p99 at 1 **{'met' if p99_1 < TARGET_P99_MS_AT_1 else 'missed'}** "
            f"({p99_1:.1f} ms); records stored in the mailbox: {r['stored']:,} of {expected:,} sent"
            f"{'' if r['stored'] == expected else ' (**not all**)'}."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
