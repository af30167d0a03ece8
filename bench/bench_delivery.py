"""HTTP destination delivery: deliveries/s of one worker against a plain `requests.Session` loop.

``run()`` returns a markdown section; ``python bench/bench_delivery.py`` prints it.

In one run: a temporary SQLite database (migrated here, DEBUG off), a receiver on 127.0.0.1 in
its own process (http.server's ThreadingHTTPServer, HTTP/1.1 keep-alive, answering 200 to
everything), and pending deliveries of batch_size 1 and 100. One worker's task function,
`pipelines.delivery.tasks.deliver_many(ids)`, is called for each task's chunk of ids in turn, as the
queue hands them out: it claims the deliveries (guarded update, lease, attempt counted), renders
and sends each request through `connectors.http`, records the attempts and the run's counts. The baseline sends the very same
requests (URL, headers, body) with a bare `requests.Session` and does nothing else. Both run
in alternating rounds, and the best round of each is kept, to damp a shared machine's noise.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Event, Process
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.80
ROUNDS = 3
# Deliveries per round: enough for a stable rate, few enough to keep the run short.
DELIVERIES = {1: 400, 100: 40}
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


def setup_django(db_path: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "osmosproject.settings",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "DEBUG": "False",
            "ALLOW_PRIVATE_DESTINATIONS": "True",
            "Q_SYNC": "True",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_deliveries(destination, pipeline, run, batch_size: int, count: int) -> list[int]:
    from pipelines.delivery.models import Delivery

    rows = Delivery.create_all(
        [
            Delivery(
                pipeline=pipeline, destination=destination, run=run, records=[RECORD] * batch_size
            )
            for _ in range(count)
        ]
    )
    return [row.pk for row in rows]


def measure(url: str, batch_size: int, rounds: int = ROUNDS) -> dict:
    import requests

    from connectors.outbound import render_request
    from pipelines.delivery.models import Delivery
    from pipelines.delivery.queue import DELIVERIES_PER_TASK
    from pipelines.delivery.tasks import deliver_many
    from pipelines.mapping.models import Pipeline
    from pipelines.runs.models import Run
    from tests.helpers import make_connector

    destination = make_connector(
        "http_destination",
        f"Receiver {batch_size}",
        url=url,
        method="POST",
        batch_size=batch_size,
    )
    destination.replace_headers(
        [{"name": "Authorization", "value": "Bearer bench-token", "secret": True}]
    )
    source = make_connector("ingest_endpoint", f"Orders {batch_size}")
    pipeline = Pipeline.objects.create(
        name=f"Bench {batch_size}", source=source, destination=destination
    )
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)
    count = DELIVERIES[batch_size]
    session = requests.Session()
    ours, plain = [], []
    for _ in range(rounds):
        ids = make_deliveries(destination, pipeline, run, batch_size, count)
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

        started = time.perf_counter()
        # As the workers get them: one task per chunk of ids, as `enqueue_deliveries` queues them.
        for start in range(0, len(ids), DELIVERIES_PER_TASK):
            deliver_many(ids[start : start + DELIVERIES_PER_TASK])
        ours.append(count / (time.perf_counter() - started))
        delivered = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.DELIVERED).count()
        assert delivered == count, f"only {delivered} of {count} delivered"
    return {"batch_size": batch_size, "ours": max(ours), "plain": max(plain)}


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Event()
        port_file = str(Path(tmp) / "port")
        receiver = Process(target=serve, args=(port_file, ready), daemon=True)
        receiver.start()
        try:
            ready.wait(10)
            url = f"http://127.0.0.1:{Path(port_file).read_text()}/v1/send"
            setup_django(str(Path(tmp) / "bench.sqlite3"))
            results = [measure(url, batch_size) for batch_size in DELIVERIES]
        finally:
            receiver.terminate()
            receiver.join(5)
    lines = [
        "## HTTP destination delivery",
        "",
        "One worker (`pipelines.delivery.tasks.deliver_many` called for each task's chunk of ids: claim, "
        "lease, attempt counted, render, send, attempts and run counts recorded in SQLite) against a bare `requests.Session` loop "
        "sending the same requests to the same local receiver (ThreadingHTTPServer on 127.0.0.1, "
        f"another process). Best of {ROUNDS} alternating rounds. Target: at least "
        f"{TARGET_RATIO:.0%} of the plain loop.",
        "",
        "| batch_size | deliveries/s | records/s | plain loop requests/s | ratio | target met |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        ratio = result["ours"] / result["plain"]
        lines.append(
            f"| {result['batch_size']} | {result['ours']:.0f} | {result['ours'] * result['batch_size']:.0f} "
            f"| {result['plain']:.0f} | {ratio:.0%} | {'yes' if ratio >= TARGET_RATIO else 'no'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
