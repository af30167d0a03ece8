"""Sustained load: ingest at a steady rate while workers deliver and a consumer reads a mailbox.

One source fans out to an HTTP destination (a receiver on 127.0.0.1 that drops repeats of
an Idempotency-Key, as a careful API does) and to a mailbox that a consumer long-polls and
acknowledges, all at once, for 60 s, then everything drains. The promises checked:
no 5xx, no "database is locked" anywhere, and every record counted: records in =
accepted + rejected, and every accepted record delivered to each destination once.
Baselines in the same run: the ingest latency of the idle server, and the offered rate.

On SQLite always, and on PostgreSQL too when DATABASE_URL names one (a fresh database is
created on that server and dropped afterwards). Only 127.0.0.1 is ever contacted.
``run()`` returns a markdown section; ``python bench/bench_load.py`` prints it.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, databases
from tests.crash.processes import Receiver

DURATION_SECONDS = 60
REQUESTS_PER_SECOND = 10
RECORDS_PER_REQUEST = 50
# Every INVALID_EVERY-th record breaks the schema, so rejection is under load too.
INVALID_EVERY = 20
DESTINATION_BATCH = 25
DRAIN_SECONDS = 180
IDLE_SAMPLES = 40

FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "paid", "type": "boolean"},
]
LOCKED = "database is locked"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- Load -------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    database: str
    duration: float
    offered_rps: float
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    idle_latencies: list[float] = field(default_factory=list)
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    delivered_http: int = 0
    delivered_mailbox: int = 0
    receiver_repeats: int = 0
    mailbox_polls: int = 0
    drain_seconds: float = 0.0
    database_counts: dict = field(default_factory=dict)
    locked_lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def make_batch(start: int, size: int = RECORDS_PER_REQUEST) -> list[dict]:
    batch = []
    for n in range(start, start + size):
        email = "not-an-email" if n % INVALID_EVERY == 0 else f"c{n}@example.com"
        batch.append(
            {"id": n, "email": email, "name": f"C {n}", "amount": n % 100 + 0.5, "paid": n % 2 == 0}
        )
    return batch


class Sender:
    """Posts batches on a fixed schedule (open loop: a slow server does not slow the offer)."""

    def __init__(self, port: int, path: str, token: str, result: LoadResult, lock: threading.Lock):
        self.port, self.path, self.token, self.result, self.lock = port, path, token, result, lock

    def post(self, conn: http.client.HTTPConnection, payload: bytes) -> tuple[int, dict, float]:
        begin = time.perf_counter()
        conn.request(
            "POST",
            self.path,
            payload,
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - begin
        return response.status, (orjson.loads(data) if data else {}), elapsed

    def idle_baseline(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for i in range(IDLE_SAMPLES):
            status, body, elapsed = self.post(
                conn, orjson.dumps(make_batch(-(i + 1) * RECORDS_PER_REQUEST))
            )
            self.count(status, body, None)
            self.result.idle_latencies.append(elapsed)
        conn.close()

    def run(self, slots: list[float], first_id: int, stride: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for i, at in enumerate(slots):
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload = orjson.dumps(make_batch(first_id + i * stride))
            try:
                status, body, elapsed = self.post(conn, payload)
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.result.problems.append(f"ingest request failed: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            self.count(status, body, elapsed)
        conn.close()

    def count(self, status: int, body: dict, elapsed: float | None) -> None:
        with self.lock:
            self.result.requests += 1
            self.result.statuses[status] = self.result.statuses.get(status, 0) + 1
            if elapsed is not None:
                self.result.latencies.append(elapsed)
            if status == 202:
                self.result.received += body["received"]
                self.result.accepted += body["accepted"]
                self.result.rejected += body["rejected"]


class MailboxReader:
    """A consumer that long-polls the mailbox and acknowledges what it read."""

    def __init__(self, port: int, slug: str, token: str, result: LoadResult):
        self.port, self.slug, self.token, self.result = port, slug, token, result
        self.ids: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        after = ""
        while not self.stop.is_set():
            query = f"?limit=1000&wait=1{f'&after={after}' if after else ''}"
            conn.request("GET", f"/api/v1/mailbox/{self.slug}/{query}", headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.result.mailbox_polls += 1
            if response.status != 200:
                self.result.statuses[response.status] = (
                    self.result.statuses.get(response.status, 0) + 1
                )
                self.result.problems.append(
                    f"mailbox poll answered {response.status}: {data[:300]!r}"
                )
                time.sleep(0.5)
                continue
            page = orjson.loads(data)
            self.ids.update(
                orjson.loads(r["data"])["id"] if isinstance(r["data"], str) else r["data"]["id"]
                for r in page["records"]
            )
            if page["records"]:
                after = page["next"]
                conn.request(
                    "POST",
                    f"/api/v1/mailbox/{self.slug}/ack/",
                    orjson.dumps({"cursor": after}),
                    {**headers, "Content-Type": "application/json"},
                )
                ack = conn.getresponse()
                ack.read()
                if ack.status >= 300:
                    self.result.problems.append(f"mailbox ack answered {ack.status}")
        conn.close()


def run_load(
    database_url: str | None = None,
    *,
    duration: float = DURATION_SECONDS,
    rate: float = REQUESTS_PER_SECOND,
    drain_seconds: float = DRAIN_SECONDS,
    redis_url: str | None = None,
) -> LoadResult:
    stack = Stack(database_url, redis_url).setup()
    result = LoadResult(database=stack.vendor, duration=duration, offered_rps=rate)
    receiver = Receiver()
    try:
        server = stack.web(workers=2, threads=4)
        stack.workers(workers=2)
        source, box = configure(stack, server, receiver.url, DESTINATION_BATCH)
        lock = threading.Lock()
        path = f"/api/v1/ingest/{source['slug']}/"
        Sender(server.port, path, source["token"], result, lock).idle_baseline()

        reader = MailboxReader(server.port, box["slug"], box["token"], result)
        reader_thread = threading.Thread(target=reader.run, daemon=True)
        reader_thread.start()
        total = int(duration * rate)
        start = time.monotonic() + 0.2
        # Two senders, each taking every other slot, so one slow answer does not delay the next request.
        senders = [
            threading.Thread(
                target=Sender(server.port, path, source["token"], result, lock).run,
                args=(
                    [start + i / rate for i in range(k, total, 2)],
                    k * RECORDS_PER_REQUEST,
                    2 * RECORDS_PER_REQUEST,
                ),
            )
            for k in range(2)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        load_ended = time.monotonic()

        deadline = load_ended + drain_seconds
        while time.monotonic() < deadline:
            if len(receiver.record_ids()) >= result.accepted and len(reader.ids) >= result.accepted:
                break
            time.sleep(0.5)
        result.drain_seconds = time.monotonic() - load_ended
        reader.stop.set()
        reader_thread.join(timeout=10)
        applied = receiver.record_ids()
        result.delivered_http = len(set(applied))
        if len(applied) != len(set(applied)):
            result.problems.append(f"{len(applied) - len(set(applied))} records were applied twice")
        result.delivered_mailbox = len(reader.ids)
        result.receiver_repeats = sum(receiver.repeats.values())
        result.database_counts = json.loads(stack.query(COUNTS))
        result.locked_lines = [line for line in stack.logs().splitlines() if LOCKED in line]
    finally:
        receiver.close()
        stack.close()
    check(result)
    return result


def configure(stack: Stack, server, receiver_url: str, batch_size: int) -> tuple[dict, dict]:
    """The ingest endpoint, fanned out by two pipelines to the receiver and to a mailbox."""
    source, _, box = stack.fan_out(
        server, FIELDS, receiver_url, batch_size=batch_size, initial_backoff_seconds=1
    )
    return source, box


# Counted in the database, in `manage.py shell`: what the product itself believes happened.
COUNTS = """
import json
from django.db.models import Count, F, Sum
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.runs.models import RecordError, Run
from mailbox.models import MailboxRecord, MailboxSequence
runs = Run.objects.aggregate(received=Sum("received"), accepted=Sum("accepted"), rejected=Sum("rejected"))
statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
waits = sorted((d - c).total_seconds() for c, d in Delivery.objects.filter(status="delivered").values_list("created_at", "delivered_at"))
print(json.dumps({
    "runs": Run.objects.count(),
    **{key: value or 0 for key, value in runs.items()},
    "record_errors": RecordError.objects.filter(pipeline__isnull=True).count(),
    "deliveries": statuses,
    "attempts": DeliveryAttempt.objects.count(),
    "locked_attempts": DeliveryAttempt.objects.filter(error__icontains="database is locked").count(),
    "mailbox_records": MailboxRecord.objects.count(),
    "mailbox_appended": sum(MailboxSequence.objects.values_list("last_seq", flat=True)),
    "delivery_wait_p50": waits[len(waits) // 2] if waits else None,
    "delivery_wait_p99": waits[min(len(waits) - 1, round(0.99 * (len(waits) - 1)))] if waits else None,
}))
"""


def check(result: LoadResult) -> None:
    """The promises; each broken one becomes a line of `problems`."""
    counts = result.database_counts
    if result.server_errors:
        result.problems.append(f"{result.server_errors} responses were 5xx: {result.statuses}")
    unexpected = {s: n for s, n in result.statuses.items() if s != 202}
    if unexpected:
        result.problems.append(f"ingest answers other than 202: {unexpected}")
    if result.locked_lines or counts.get("locked_attempts"):
        result.problems.append(
            f'"{LOCKED}" appeared: {result.locked_lines[:3]}, attempts: {counts.get("locked_attempts")}'
        )
    if result.received != result.accepted + result.rejected:
        result.problems.append(
            f"received {result.received} != accepted {result.accepted} + rejected {result.rejected}"
        )
    if (counts.get("received"), counts.get("accepted"), counts.get("rejected")) != (
        result.received,
        result.accepted,
        result.rejected,
    ):
        result.problems.append(
            f"the runs count {counts} but the senders were told {result.received}/{result.accepted}/{result.rejected}"
        )
    if counts.get("record_errors") != result.rejected:
        result.problems.append(
            f"{result.rejected} records rejected but {counts.get('record_errors')} kept with their runs"
        )
    if result.delivered_http != result.accepted:
        result.problems.append(
            f"the receiver applied {result.delivered_http} records of {result.accepted} accepted"
        )
    if (
        result.delivered_mailbox != result.accepted
        or counts.get("mailbox_records") != result.accepted
    ):
        result.problems.append(
            f"the mailbox gave {result.delivered_mailbox} records (stored {counts.get('mailbox_records')}) of {result.accepted} accepted"
        )
    not_delivered = {s: n for s, n in counts.get("deliveries", {}).items() if s != "delivered"}
    if not_delivered:
        result.problems.append(f"deliveries not delivered after draining: {not_delivered}")


def report(results: list[LoadResult]) -> str:
    lines = [
        "### Sustained load",
        "",
        f"{results[0].duration:.0f} s of ingest at {results[0].offered_rps:.0f} requests/s x {RECORDS_PER_REQUEST} "
        f"records (1 in {INVALID_EVERY} invalid), fanned out to an HTTP destination (batches of "
        f"{DESTINATION_BATCH}, receiver on 127.0.0.1) and to a mailbox a consumer long-polls and "
        "acknowledges meanwhile; gunicorn 2 x 4 threads and a qcluster of 2 workers, then "
        "drained. Baselines: the idle server's latency (same requests, nothing else running) "
        "and the offered rate.",
        "",
        "| database | requests/s achieved (ratio to offered) | records in | accepted | rejected "
        "| delivered HTTP | delivered mailbox | ingest p50 ms (x idle) | ingest p99 ms (x idle) "
        "| delivery wait p50 / p99 s | drain s | 5xx | locked | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        achieved = (r.requests - IDLE_SAMPLES) / r.duration
        p50, p99 = percentile(r.latencies, 0.5), percentile(r.latencies, 0.99)
        idle50, idle99 = percentile(r.idle_latencies, 0.5), percentile(r.idle_latencies, 0.99)
        wait50, wait99 = (
            r.database_counts.get("delivery_wait_p50"),
            r.database_counts.get("delivery_wait_p99"),
        )
        lines.append(
            f"| {r.database} | {achieved:.1f} ({achieved / r.offered_rps:.0%}) | {r.received:,} | {r.accepted:,} "
            f"| {r.rejected:,} | {r.delivered_http:,} | {r.delivered_mailbox:,} "
            f"| {p50 * 1000:.0f} ({p50 / idle50:.1f}x) | {p99 * 1000:.0f} ({p99 / idle99:.1f}x) "
            f"| {wait50 or 0:.2f} / {wait99 or 0:.2f} | {r.drain_seconds:.0f} | {r.server_errors} "
            f"| {len(r.locked_lines)} | {'**pass**' if r.ok else '**FAIL**'} |"
        )
    for r in results:
        if not r.ok:
            lines += ["", f"Problems on {r.database}:", *[f"- {p}" for p in r.problems]]
    lines += [
        "",
        "Records in count the idle baseline's requests too. The receiver drops repeats of an "
        "Idempotency-Key; repeats seen: "
        + ", ".join(f"{r.database} {r.receiver_repeats}" for r in results)
        + ".",
    ]
    return "\n".join(lines) + "\n"


# `make bench BENCH_ARGS=--long`: the sustained run (bench/sustained.py), a section of its own.
LONG_FORM = True


def run() -> str:
    if os.environ.get("BENCH_LONG") == "1":
        from bench.sustained import run_long

        return run_long()
    results = [run_load(url) for _, url in databases()]
    text = report(results)
    if not all(r.ok for r in results):
        raise AssertionError(text)
    return text


if __name__ == "__main__":
    print(run())
