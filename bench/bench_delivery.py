"""HTTP destination delivery: deliveries/s of one worker against a plain `requests.Session` loop.

``run()`` returns a markdown section; ``python bench/bench_delivery.py`` prints it.

On every database of `bench.stack.databases()` (SQLite always, PostgreSQL when DATABASE_URL
names one): a fresh database (`bench.stack.Stack`, migrated, DEBUG off) measured by a child
process running Django on it, so one run measures both. A receiver on 127.0.0.1 in its own
process (http.server's ThreadingHTTPServer, HTTP/1.1 keep-alive, answering 200 to everything),
and pending deliveries of batch_size 1 and 100. One worker's task function,
`pipelines.delivery.tasks.deliver_many(ids)`, is called for each task's chunk of ids in turn, as
the queue hands them out (100 ids a task, and for batches of 100 also one id a task, as one
ingest request per batch queues them): it claims the deliveries (guarded update, lease,
attempt counted), renders and sends each request through `connectors.http`, records the
attempts and the run's counts. The baseline sends the very same requests (URL, headers, body) with a bare
`requests.Session` and does nothing else. Both run in alternating rounds, and the best round of
each is kept, to damp a shared machine's noise.

BENCH_SHORT=1 runs one round; BENCH_PROFILE=FILE writes a cProfile of the `deliver_many` calls
to FILE.sqlite and FILE.postgresql.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Event, Process
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stack import Stack, databases  # noqa: E402

TARGET_RATIO = 0.80
# BENCH_SHORT=1: one round, for a quick look while developing.
ROUNDS = 1 if os.environ.get("BENCH_SHORT") else 3
# (records per delivery, delivery ids per task, deliveries per round): a task per 100 ids, as a
# burst queues them; and a task per delivery, as a sender posting one batch per request queues
# them. Enough deliveries for a stable rate, few enough to keep the run short.
CASES = ((1, 100, 400), (100, 100, 40), (100, 1, 40))
RECORD = {
    "id": "42",
    "campaign_id": "1234",
    "action_id": "5678",
    "identifiers": {"email": "alice@example.com"},
    "message_data": {"amount": 19.5, "name": "Alice Liddell", "items": ["tea", "cake"]},
}


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, each response would wait for a
    # delayed ACK (~40 ms) and the benchmark would measure that instead of us.
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def serve(port_file: str, ready) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Path(port_file).write_text(str(server.server_address[1]))
    ready.set()
    server.serve_forever()


def setup_django() -> None:
    """Django in this process, on the database its environment names (a Stack's, migrated)."""
    sys.path.insert(0, str(ROOT))
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def make_deliveries(pipeline, run, batch_size: int, count: int) -> list[int]:
    from pipelines.delivery.models import Delivery, DeliveryPayload

    payload = DeliveryPayload.encode([RECORD] * batch_size)
    return Delivery.create_batches(pipeline, run, [(batch_size, payload)] * count)


def measure(url: str, case: tuple[int, int, int], rounds: int = ROUNDS, profiler=None) -> dict:
    import requests

    from connectors.outbound import render_request
    from pipelines.delivery.models import Delivery
    from pipelines.delivery.tasks import deliver_many
    from pipelines.mapping.models import Pipeline
    from pipelines.runs.models import Run
    from tests.helpers import make_connector

    batch_size, per_task, count = case
    destination = make_connector(
        "http_destination",
        f"Receiver {batch_size} {per_task}",
        url=url,
        method="POST",
        batch_size=batch_size,
    )
    destination.replace_headers(
        [{"name": "Authorization", "value": "Bearer bench-token", "secret": True}]
    )
    source = make_connector("ingest_endpoint", f"Orders {batch_size} {per_task}")
    pipeline = Pipeline.objects.create(
        name=f"Bench {batch_size} {per_task}", source=source, destination=destination
    )
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)
    session = requests.Session()
    ours, plain = [], []
    for _ in range(rounds):
        ids = make_deliveries(pipeline, run, batch_size, count)
        requests_to_send = [
            render_request(destination, [RECORD] * batch_size, idempotency_key=str(pk))
            for pk in ids
        ]
        started = time.perf_counter()
        for request in requests_to_send:
            response = session.post(
                request.url, data=request.body, headers=request.headers, timeout=30
            )
            assert response.status_code == 200
        plain.append(count / (time.perf_counter() - started))

        if profiler:
            profiler.enable()
        started = time.perf_counter()
        # As the workers get them: one task per chunk of ids, as `enqueue_deliveries` queues them.
        for start in range(0, len(ids), per_task):
            deliver_many(ids[start : start + per_task])
        ours.append(count / (time.perf_counter() - started))
        if profiler:
            profiler.disable()
        delivered = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.DELIVERED).count()
        assert delivered == count, f"only {delivered} of {count} delivered"
    return {"batch_size": batch_size, "per_task": per_task, "ours": max(ours), "plain": max(plain)}


def measure_all(url: str) -> list[dict]:
    """In the child process: every batch size, on the database of its environment.

    BENCH_PROFILE=FILE profiles our part (the `deliver_many` calls) into FILE.<vendor>."""
    setup_django()
    profile_to = os.environ.get("BENCH_PROFILE")
    if not profile_to:
        return [measure(url, case) for case in CASES]
    import cProfile

    from django.db import connection

    profiler = cProfile.Profile()
    results = [measure(url, case, profiler=profiler) for case in CASES]
    profiler.dump_stats(f"{profile_to}.{connection.vendor}")
    return results


def measure_on(database_url: str | None, url: str) -> list[dict]:
    """A fresh, migrated database (a new one on the PostgreSQL server named), measured by a
    child process that runs Django on it."""
    stack = Stack(database_url)
    try:
        stack.manage("migrate", "--noinput")
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if child.returncode:
            raise RuntimeError(f"measuring on {stack.vendor} failed:\n{child.stderr[-3000:]}")
        return json.loads(child.stdout.splitlines()[-1])
    finally:
        stack.close()


def run() -> str:
    columns = []
    with tempfile.TemporaryDirectory() as tmp:
        ready = Event()
        port_file = str(Path(tmp) / "port")
        receiver = Process(target=serve, args=(port_file, ready), daemon=True)
        receiver.start()
        try:
            ready.wait(10)
            url = f"http://127.0.0.1:{Path(port_file).read_text()}/v1/send"
            columns = [(label, measure_on(db, url)) for label, db in databases()]
        finally:
            receiver.terminate()
            receiver.join(5)
    labels = [label for label, _ in columns]
    lines = [
        "## HTTP destination delivery",
        "",
        "One worker (`pipelines.delivery.tasks.deliver_many` called for each task's chunk of ids: "
        "claim, lease, attempt counted, render, send, attempts and run counts recorded in the "
        "database; 100 ids a task, as a burst queues them, or one, as a sender posting one "
        "batch per request queues them: that task then takes along the deliveries waiting "
        "for theirs, which find nothing to do; django-q2's own cost per task is not counted) "
        "against a bare `requests.Session` loop sending the same requests to the same "
        "local receiver (ThreadingHTTPServer on 127.0.0.1, another process), on each database "
        f"({', '.join(labels)}; a fresh database each). Best of {ROUNDS} alternating rounds. "
        f"Target: at least {TARGET_RATIO:.0%} of the plain loop, on every database.",
        "",
        "| records per delivery | ids per task | "
        + " | ".join(
            f"{label} deliveries/s (records/s) | {label} plain loop requests/s | {label} ratio"
            for label in labels
        )
        + " | target met |",
        "|---:|---:|" + "---:|---:|---:|" * len(labels) + "---|",
    ]
    for i, (batch_size, per_task, _) in enumerate(CASES):
        cells, met = [], []
        for label, results in columns:
            result = results[i]
            ratio = result["ours"] / result["plain"]
            met.append(f"{label} {'yes' if ratio >= TARGET_RATIO else 'no'}")
            cells += [
                f"{result['ours']:.0f} ({result['ours'] * batch_size:,.0f})",
                f"{result['plain']:.0f}",
                f"{ratio:.0%}",
            ]
        lines.append(f"| {batch_size} | {per_task} | {' | '.join(cells)} | {', '.join(met)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure_all(sys.argv[2])))
    else:
        print(run())
