"""HTTP source pull against a peer: airbyte-cdk's declarative source reading the same API.

``run()`` returns a markdown section; ``python bench/bench_pull.py`` prints it.

In one run: a child process serves 1,000 pre-rendered pages of 100 records of 10 fields
(``{"data": {"items": [...]}}``, page/per_page pagination, an empty page 1,001) on 127.0.0.1
with a threaded ``http.server`` speaking HTTP/1.1 keep-alive. Then, in alternating rounds:

- the peer: ``source-declarative-manifest read`` (airbyte-cdk, in a virtualenv of its own
  made in the benchmark's temporary folder) of an equivalent manifest: DeclarativeStream,
  HttpRequester, DpathExtractor ``["data", "items"]``, DefaultPaginator with PageIncrement
  and page/per_page request parameters, stopping at a short page. It only prints records;
  its RECORD lines are counted, and it is timed from process start to exit;
- ours, in a child per database (SQLite, and PostgreSQL when `bench.stack.databases()` lists
  it) with Django set up on a fresh migrated database: ``pipelines.pull.runs.pull`` of an
  ``http_source`` into a mailbox through a pipeline, each page validated against the
  source schema, mapped, stored, one transaction per page; the stored records are counted;
- on SQLite, two references: a plain ``requests.Session`` loop (GET + ``.json()``) and
  ``read_pages`` (fetch + parse only).

The best round of each counts (the least disturbed by whatever else the machine does).

Knobs for short runs while developing: BENCH_PULL_PAGES (default 1000), BENCH_PULL_ROUNDS
(default 3), BENCH_PULL_PEER_VENV (an existing virtualenv with airbyte-cdk to reuse).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = int(os.environ.get("BENCH_PULL_PAGES", "1000"))
PER_PAGE = 100
ROUNDS = int(os.environ.get("BENCH_PULL_ROUNDS", "3"))
PEER_TARGET = 2.0
FETCH_TARGET = 0.80
# The peer, pinned: the version this benchmark was written against and checked with.
AIRBYTE_CDK = "airbyte-cdk==7.39.1"
STREAM = "items"
FIELDS = [
    ("id", "integer"),
    ("name", "string"),
    ("email", "string"),
    ("amount", "number"),
    ("active", "boolean"),
    ("updated_at", "string"),
    ("country", "string"),
    ("plan", "string"),
    ("seats", "integer"),
    ("note", "string"),
]


# --- the API: pre-rendered pages ------------------------------------------------------------


def record(n: int) -> dict:
    return {
        "id": n,
        "name": f"Customer {n}",
        "email": f"Customer{n}@Example.com",
        "amount": round(n * 1.25, 2),
        "active": n % 3 != 0,
        "updated_at": f"2024-05-{1 + n % 28:02d}T10:{n % 60:02d}:00Z",
        "country": ("NL", "DE", "FR", "US")[n % 4],
        "plan": ("free", "team", "business")[n % 3],
        "seats": n % 50 + 1,
        "note": f"account {n} imported from the old CRM",
    }


def render_pages() -> dict[int, bytes]:
    pages = {}
    for page in range(1, PAGES + 2):
        first = (page - 1) * PER_PAGE + 1
        items = [record(n) for n in range(first, first + PER_PAGE)] if page <= PAGES else []
        pages[page] = json.dumps({"data": {"items": items}}).encode()
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
            if query.get("per_page") != [str(PER_PAGE)]:
                self.send_error(400, "per_page must be 100")
                return
            self.wfile.write(responses.get(int(query.get("page", ["1"])[0]), responses[PAGES + 1]))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the peer: airbyte-cdk's declarative source ----------------------------------------------


def json_schema() -> dict:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {name: {"type": ["null", kind]} for name, kind in FIELDS},
    }


def manifest(port: int) -> dict:
    """The low-code manifest a connector developer would write for this API."""
    return {
        "version": "6.0.0",
        "type": "DeclarativeSource",
        "check": {"type": "CheckStream", "stream_names": [STREAM]},
        "spec": {
            "type": "Spec",
            "connection_specification": {"type": "object", "properties": {}},
        },
        "streams": [
            {
                "type": "DeclarativeStream",
                "name": STREAM,
                "primary_key": ["id"],
                "schema_loader": {"type": "InlineSchemaLoader", "schema": json_schema()},
                "retriever": {
                    "type": "SimpleRetriever",
                    "requester": {
                        "type": "HttpRequester",
                        "url_base": f"http://127.0.0.1:{port}",
                        "path": "/items",
                        "http_method": "GET",
                    },
                    "record_selector": {
                        "type": "RecordSelector",
                        "extractor": {"type": "DpathExtractor", "field_path": ["data", "items"]},
                    },
                    "paginator": {
                        "type": "DefaultPaginator",
                        "page_token_option": {
                            "type": "RequestOption",
                            "inject_into": "request_parameter",
                            "field_name": "page",
                        },
                        "page_size_option": {
                            "type": "RequestOption",
                            "inject_into": "request_parameter",
                            "field_name": "per_page",
                        },
                        # Stops after a page shorter than page_size (here the empty page 1,001).
                        "pagination_strategy": {
                            "type": "PageIncrement",
                            "page_size": PER_PAGE,
                            "start_from_page": 1,
                            "inject_on_first_request": True,
                        },
                    },
                },
            }
        ],
    }


class Peer:
    """`source-declarative-manifest` in a virtualenv of its own under `folder`."""

    def __init__(self, folder: Path, port: int):
        reuse = os.environ.get("BENCH_PULL_PEER_VENV")
        self.venv = Path(reuse) if reuse else folder / "airbyte-venv"
        self.folder = folder
        self.install_seconds = 0.0
        self.startup = 0.0
        self.cpu_seconds = 0.0
        config = {"__injected_declarative_manifest": manifest(port)}
        catalog = {
            "streams": [
                {
                    "stream": {
                        "name": STREAM,
                        "json_schema": json_schema(),
                        "supported_sync_modes": ["full_refresh"],
                    },
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": "overwrite",
                }
            ]
        }
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "catalog.json").write_text(json.dumps(catalog))

    @property
    def program(self) -> Path:
        return self.venv / "bin" / "source-declarative-manifest"

    def install(self) -> None:
        started = time.perf_counter()
        if not self.program.exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
            # pip's own cache (~/.cache/pip) is used as usual: what it holds is not downloaded again.
            subprocess.run(
                [str(self.venv / "bin" / "pip"), "install", "--quiet", AIRBYTE_CDK],
                check=True,
                capture_output=True,
                timeout=1200,
            )
        self.install_seconds = time.perf_counter() - started

    def read(self) -> tuple[int, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        records, seconds = self._read()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Only the peer's process ends during its read: the others live until the end.
        self.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return records, seconds

    def _read(self) -> tuple[int, float]:
        """Records printed and seconds from process start to exit; `startup` keeps the
        seconds before its first record (Python, imports, the manifest)."""
        args = [
            str(self.program),
            "read",
            "--config",
            str(self.folder / "config.json"),
            "--catalog",
            str(self.folder / "catalog.json"),
        ]
        records = 0
        started = time.perf_counter()
        log = self.folder / "peer-stderr.log"
        with (
            open(log, "wb") as stderr,
            subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=stderr, cwd=self.folder
            ) as process,
        ):
            for line in process.stdout:
                # Airbyte messages are one JSON object a line; records start with their type.
                if line.startswith(b'{"type":"RECORD"'):
                    if not records:
                        self.startup = time.perf_counter() - started
                    records += 1
                elif b'"type":"TRACE"' in line and b'"error"' in line:
                    raise RuntimeError(f"the peer reported an error: {line[:2000]!r}")
        seconds = time.perf_counter() - started
        if process.returncode:
            raise RuntimeError(f"the peer exited {process.returncode}: {log.read_text()[-2000:]}")
        return records, seconds


# --- ours (in a child with Django set up on a fresh database) --------------------------------


def plain_loop(url: str) -> int:
    import requests

    count = 0
    with requests.Session() as session:
        for page in range(1, PAGES + 2):
            response = session.get(url, params={"page": page, "per_page": PER_PAGE}, timeout=30)
            response.raise_for_status()
            items = response.json()["data"]["items"]
            if not items:
                break
            count += len(items)
    return count


def measure(port: int, references: bool) -> None:
    """Set up a source, a mailbox and a pipeline; then one round per line read from stdin,
    each answered with a JSON line of records/s."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from mailbox.models import MailboxRecord
    from pipelines.pull.reading import read_pages
    from pipelines.pull.runs import pull
    from tests.helpers import make_connector, make_pipeline

    url = f"http://127.0.0.1:{port}/items"
    # As a user configures them in the builder (the same fields the management API takes).
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
            {"name": "country", "type": "string"},
            {"name": "plan", "type": "string"},
            {"name": "seats", "type": "integer"},
            {"name": "note", "type": "string"},
        ],
        url=url,
        method="GET",
        records_path="data.items",
        pagination={"type": "page", "param": "page", "size_param": "per_page", "size": PER_PAGE},
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
            {"name": "active", "type": "boolean"},
            {"name": "updated_at", "type": "datetime"},
            {"name": "country", "type": "string"},
            {"name": "plan", "type": "string"},
            {"name": "seats", "type": "integer"},
            {"name": "note", "type": "string"},
        ],
    )
    make_pipeline(
        source,
        box,
        [
            {"target": "customer_id", "source": "id"},
            {"target": "email", "source": "email", "transforms": ["lower"]},
            *(
                {"target": name, "source": name}
                for name in [name for name, _ in FIELDS if name not in ("id", "email")]
            ),
        ],
    )

    def fetch_and_parse() -> int:
        return sum(len(page.records) for page in read_pages(source))

    def end_to_end() -> int:
        before = MailboxRecord.objects.filter(mailbox=box).count()
        run = pull(source)
        assert run.status == "succeeded", run.error
        stored = MailboxRecord.objects.filter(mailbox=box).count() - before
        assert stored == run.accepted, (stored, run.accepted)
        return stored

    jobs = {"ours": end_to_end}
    if references:
        jobs = {"plain": lambda: plain_loop(url), "fetch": fetch_and_parse, **jobs}
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        result = {}
        for name, job in jobs.items():
            started, cpu = time.perf_counter(), time.process_time()
            count = job()
            result[name] = {
                "records": count,
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
            }
        print(json.dumps(result), flush=True)


class Ours:
    """A measuring child on one database, kept between rounds."""

    def __init__(self, label: str, database_url: str | None, port: int, references: bool):
        from bench.stack import Stack

        self.label = label
        self.stack = Stack(database_url, redis_url="")
        env = {**self.stack.env, "LOG_LEVEL": "WARNING", "Q_SYNC": "True", "PYTHONPATH": str(ROOT)}
        self.child = subprocess.Popen(
            [sys.executable, __file__, "--measure", str(port)]
            + (["--references"] if references else []),
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.answer()

    def answer(self) -> dict:
        line = self.child.stdout.readline()
        if not line:
            self.child.wait()
            raise RuntimeError(f"the {self.label} child exited {self.child.returncode}")
        return json.loads(line)

    def round(self) -> dict:
        self.child.stdin.write("round\n")
        self.child.stdin.flush()
        return self.answer()

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait(timeout=60)
        self.stack.close()


# --- one run --------------------------------------------------------------------------------


def run() -> str:
    from bench.stack import databases

    expected = PAGES * PER_PAGE
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    ours: list[Ours] = []
    started = time.perf_counter()
    try:
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="superconnector-bench-pull-") as tmp:
            peer = Peer(Path(tmp), port)
            peer.install()
            for index, (label, url) in enumerate(databases()):
                ours.append(Ours(label, url, port, references=index == 0))
            best: dict[str, float] = {}
            stored: dict[str, int] = {}

            def keep(name: str, records: int, seconds: float) -> None:
                if records != expected:
                    raise RuntimeError(f"{name}: {records:,} records, expected {expected:,}")
                best[name] = max(best.get(name, 0.0), records / seconds)

            startup = 0.0
            cpu: dict[str, float] = {}
            for _ in range(ROUNDS):
                records, seconds = peer.read()
                if records / seconds > best.get("peer", 0.0):
                    startup = peer.startup / seconds
                keep("peer", records, seconds)
                cpu["peer"] = min(cpu.get("peer", 1e9), peer.cpu_seconds)
                for child in ours:
                    for name, figures in child.round().items():
                        key = name if name != "ours" else f"ours {child.label}"
                        keep(key, figures["records"], figures["seconds"])
                        cpu[key] = min(cpu.get(key, 1e9), figures["cpu_seconds"])
                        if name == "ours":
                            stored[child.label] = stored.get(child.label, 0) + figures["records"]
            install_seconds = peer.install_seconds
    finally:
        for child in ours:
            child.close()
        server.kill()
        server.wait()
    return report(best, cpu, stored, install_seconds, startup, time.perf_counter() - started)


def report(
    best: dict, cpu: dict, stored: dict, install_seconds: float, startup: float, seconds: float
) -> str:
    peer = best["peer"]
    labels = list(stored)
    ours = {label: best[f"ours {label}"] for label in labels}
    ratios = {label: ours[label] / peer for label in labels}

    def verdict(ratio: float, target: float) -> str:
        return "met" if ratio >= target else "**not met**"

    def cells(values: list[str]) -> str:
        return " | ".join(values)

    fetch = best["fetch"] / best["plain"]
    return "\n".join(
        [
            "## HTTP source pull, against airbyte-cdk",
            "",
            f"The same local paged API for both: {PAGES:,} pages x {PER_PAGE} records of "
            f"{len(FIELDS)} fields under `data.items`, page/per_page pagination, pre-rendered "
            "pages from a threaded `http.server` on 127.0.0.1 in another process, read until "
            f"the empty page after the last. Best of {ROUNDS} alternating rounds, every round's "
            f"record count checked ({PAGES * PER_PAGE:,}); {seconds:.0f} s in all.",
            "",
            "- **Peer** (the baseline): airbyte-cdk's declarative (low-code) source, "
            "`source-declarative-manifest read --config config.json --catalog catalog.json`, "
            "the manifest injected in the config (`__injected_declarative_manifest`): "
            "DeclarativeStream, HttpRequester, DpathExtractor `[data, items]`, DefaultPaginator "
            "with PageIncrement and page/per_page request parameters, stopping at a short page. "
            "It only prints records; its RECORD lines are counted. Timed from process start "
            f"to exit, as each Airbyte sync runs it ({startup:.0%} of its best round passed "
            "before its first record: Python, imports, the manifest). Installed in a "
            f"virtualenv of its own in the run's temporary folder ({install_seconds:.0f} s "
            "this run, not part of any figure).",
            "- **Ours**: an `http_source` pulled into a mailbox through a pipeline "
            "(`pipelines.pull.runs.pull`, what a worker runs): every page validated against the "
            "source schema, mapped (10 fields, a rename and a transform), stored, one "
            "transaction per page (on SQLite written in a thread of the run, on its own "
            "connection, while the next page is validated and mapped), on a fresh migrated "
            "database; the records stored are counted. Timed from the run's start to its "
            "end, in a worker process already running (a worker serves many runs, so no "
            "process start is counted).",
            "",
            f"| path | {cells([f'records/s, {label}' for label in labels])} | "
            f"{cells([f'vs. peer, {label}' for label in labels])} | target |",
            "|---|" + "---:|" * (2 * len(labels)) + "---|",
            f"| peer: `source-declarative-manifest read` (airbyte-cdk "
            f"{AIRBYTE_CDK.split('==')[1]}, prints records) | "
            f"{cells([f'{peer:,.0f}' for _ in labels])} | {cells(['1.00x' for _ in labels])} | |",
            "| ours: `pull` into a mailbox (validated, mapped, stored) | "
            f"{cells([f'{ours[label]:,.0f}' for label in labels])} | "
            f"{cells([f'{ratios[label]:.2f}x' for label in labels])} | "
            + "; ".join(
                f"{label} >= {PEER_TARGET:.0f}x: {verdict(ratios[label], PEER_TARGET)}"
                for label in labels
            )
            + " |",
            "",
            "CPU time, which other work on the machine disturbs less than wall time (least "
            f"of the rounds, all threads): the peer {cpu['peer']:.1f} s, ours "
            + ", ".join(f"{cpu[f'ours {label}']:.1f} s on {label}" for label in labels)
            + " (ours / peer: "
            + ", ".join(f"{cpu[f'ours {label}'] / cpu['peer']:.0%}" for label in labels)
            + "; PostgreSQL's own work is in its server process, not counted).",
            "",
            "The peer uses no database: the same peer rounds are the baseline of every column. "
            "References on the same API (SQLite's child): a plain `requests.Session` loop "
            f"(GET + `.json()`) {best['plain']:,.0f} records/s; our fetch + parse alone "
            "(`read_pages`: templates, the outbound chokepoint with its SSRF-pinned "
            f"connections, records path, pagination, repeat guard) {best['fetch']:,.0f} "
            f"records/s, {fetch:.0%} of the plain loop (target >= {FETCH_TARGET:.0%}: "
            f"{verdict(fetch, FETCH_TARGET)}).",
            "",
            "Stored over the rounds: "
            + ", ".join(f"{label} {count:,} records" for label, count in stored.items())
            + ". Rerun: `make bench BENCH=pull` (SQLite), `make bench-postgres BENCH=pull` "
            "(both columns); docs/http-source.md says more.",
            "",
        ]
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    elif sys.argv[1:2] == ["--measure"]:
        measure(int(sys.argv[2]), "--references" in sys.argv[3:])
    else:
        print(run())
