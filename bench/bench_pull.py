"""HTTP source throughput: records/s pulled from a local paginated API, against a plain loop.

``run()`` returns a markdown section; ``python bench/bench_pull.py`` prints it.

In one run: a child process serves 1,000 pre-rendered pages of 100 records (and an empty
page 1,001) on 127.0.0.1 with a threaded ``http.server`` speaking HTTP/1.1 keep-alive. A
second child, with Django set up on a temporary SQLite database (migrated there), measures
in alternating rounds:

- the baseline: a plain ``requests.Session`` loop that GETs each page and ``.json()``s it;
- fetch + parse: ``pipelines.pull.reading.read_pages`` over the same pages (templates, the
  outbound chokepoint with its SSRF-pinned connections, records_path, pagination, repeat guard);
- end to end: ``pipelines.pull.runs.pull`` into a mailbox: each page validated against the
  source schema, mapped by a pipeline, stored, one transaction per page.

The best round of each counts (the least disturbed by whatever else the machine does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
PAGES = 1_000
PER_PAGE = 100
ROUNDS = 3
FETCH_TARGET = 0.80
END_TO_END_TARGET = 0.35
CHILD_ENV = {
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    "DEBUG": "False",
    "TESTING": "False",
    "ALLOW_PRIVATE_DESTINATIONS": "True",
    "LOG_LEVEL": "WARNING",
    "Q_SYNC": "True",
}


# --- the API: pre-rendered pages ------------------------------------------------------------


def render_pages() -> dict[int, bytes]:
    pages = {}
    for page in range(1, PAGES + 2):
        first = (page - 1) * PER_PAGE + 1
        records = [
            {
                "id": n,
                "name": f"Customer {n}",
                "email": f"customer{n}@example.com",
                "amount": round(n * 1.25, 2),
                "active": n % 3 != 0,
                "updated_at": f"2024-05-{1 + n % 28:02d}T10:{n % 60:02d}:00Z",
            }
            for n in range(first, first + PER_PAGE)
        ]
        pages[page] = json.dumps({"data": records if page <= PAGES else []}).encode()
    return pages


def serve() -> None:
    """Serve the pages until killed; prints the port once listening."""
    pages = render_pages()

    # Whole responses, sent with one write: headers and body in separate small writes would
    # meet delayed ACKs and cost 40 ms a page, measuring the server rather than the clients.
    responses = {
        page: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for page, body in pages.items()
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            self.wfile.write(responses.get(int(query.get("page", ["1"])[0]), responses[PAGES + 1]))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the measurements (in a child with Django set up on a temporary database) ---------------


def baseline(url: str) -> int:
    import requests

    count = 0
    with requests.Session() as session:
        for page in range(1, PAGES + 2):
            response = session.get(url, params={"page": page, "per_page": PER_PAGE}, timeout=30)
            response.raise_for_status()
            records = response.json()["data"]
            if not records:
                break
            count += len(records)
    return count


def measure(port: int) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from mailbox.models import MailboxRecord
    from pipelines.pull.reading import read_pages
    from pipelines.pull.runs import pull
    from tests.helpers import make_connector, make_pipeline

    url = f"http://127.0.0.1:{port}/items"
    source = make_connector(
        "http_source",
        "Customers API",
        [
            {"name": "id", "type": "integer", "required": True},
            {"name": "name", "type": "string"},
            {"name": "email", "type": "email", "required": True},
            {"name": "amount", "type": "number"},
            {"name": "active", "type": "boolean"},
            {"name": "updated_at", "type": "datetime"},
        ],
        url=url,
        method="GET",
        records_path="data",
        pagination={"type": "page", "size": PER_PAGE},
        max_pages=PAGES + 1,
    )
    box = make_connector(
        "mailbox",
        "Customers box",
        [
            {"name": "customer_id", "type": "string", "required": True},
            {"name": "email", "type": "email", "required": True},
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "number"},
        ],
    )
    make_pipeline(
        source,
        box,
        [
            {"target": "customer_id", "source": "id"},
            {"target": "email", "source": "email", "transforms": ["lower"]},
        ],
    )

    def fetch_and_parse() -> int:
        return sum(len(page.records) for page in read_pages(source))

    def end_to_end() -> int:
        run = pull(source)
        assert run.status == "succeeded", run.error
        return run.accepted

    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, job in (
            ("baseline", lambda: baseline(url)),
            ("fetch", fetch_and_parse),
            ("e2e", end_to_end),
        ):
            started = time.perf_counter()
            count = job()
            elapsed = time.perf_counter() - started
            assert count == PAGES * PER_PAGE, (name, count)
            best[name] = max(best.get(name, 0.0), count / elapsed)
    best["stored"] = MailboxRecord.objects.filter(mailbox=box).count()
    return best


def run() -> str:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                **CHILD_ENV,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "DJANGO_SETTINGS_MODULE": "osmosproject.settings",
                "PYTHONPATH": str(ROOT),
            }
            started = time.perf_counter()
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(port)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - started
    finally:
        server.kill()
        server.wait()
    return report(json.loads(child.stdout.strip().splitlines()[-1]), seconds)


def report(results: dict, seconds: float) -> str:
    base = results["baseline"]
    fetch, e2e = results["fetch"] / base, results["e2e"] / base

    def verdict(ratio: float, target: float) -> str:
        return "met" if ratio >= target else "**missed**"

    return "\n".join(
        [
            "## HTTP source pull",
            "",
            f"{PAGES:,} pages x {PER_PAGE} records from a local paginated API (pre-rendered pages, "
            f"threaded http.server on 127.0.0.1), best of {ROUNDS} alternating rounds; "
            f"{seconds:.0f} s in all.",
            "",
            "| path | records/s | vs. plain loop | target |",
            "|---|---:|---:|---|",
            f"| plain `requests.Session` loop (GET + `.json()`) | {base:,.0f} | 100% | |",
            f"| fetch + parse (`read_pages`) | {results['fetch']:,.0f} | {fetch:.0%} | "
            f">= {FETCH_TARGET:.0%}: {verdict(fetch, FETCH_TARGET)} |",
            f"| end to end into a mailbox (`pull`: validated, mapped, stored) | {results['e2e']:,.0f} | "
            f"{e2e:.0%} | >= {END_TO_END_TARGET:.0%}: {verdict(e2e, END_TO_END_TARGET)} |",
            "",
            f"End to end: one transaction per page into a temporary SQLite database (WAL); "
            f"{results['stored']:,} records stored over the rounds.",
            "",
        ]
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    elif sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        print(run())
