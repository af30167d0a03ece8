"""Scaling with processes: ingest per gunicorn process, deliveries per worker process.

One ingest endpoint feeds a mailbox (stored in the request) and an HTTP destination (batches
of 100, to a receiver on 127.0.0.1 in a process of its own). Ingest: `wrk` posts 100 records
per request to 1, 2 and 4 gunicorn processes (4 threads each), no workers running, so the
deliveries pile up. Deliveries: 1, 2 and 4 worker processes (one qcluster) drain that pile,
counted at the receiver. Each round measures the CPU time of every process group (gunicorn or
the qcluster with their children, PostgreSQL's postmaster and backends, Redis, wrk, the
receiver) from /proc/<pid>/stat, so figures are per core actually used, and the whole
machine's busy time from /proc/stat, so the share taken by other work shows.

On PostgreSQL + Redis when DATABASE_URL names a PostgreSQL server (`make bench-postgres`),
on SQLite otherwise (see `measured`). BENCH_SCALING_SECONDS sets a round's length (default 6).
``run()`` returns a markdown section; ``python bench/bench_scaling.py`` prints it.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import FIELDS, record  # noqa: E402
from bench.stack import Stack, databases  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SCALING_SECONDS", "6"))
WARMUP_SECONDS = 2.0
PROCESS_COUNTS = (1, 2, 4)
THREADS = 4
RECORDS_PER_REQUEST = 100
# A round of deliveries must not run out of work: the pile is topped up to this many times
# what the fastest round so far would deliver.
BACKLOG_MARGIN = 1.5
FIRST_BACKLOG = 40_000
CORES = os.cpu_count() or 1
TICK = os.sysconf("SC_CLK_TCK")
# A round that keeps this share of the machine's cores busy is CPU-bound.
SATURATED = 0.85


# --- CPU time from /proc ----------------------------------------------------------------------


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks of the process and of the children it reaped)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        # Fields after "(comm)": state, ppid, ..., utime (14th), stime, cutime, cstime (17th).
        fields = text[text.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return table


def tree_seconds(table: dict[int, tuple[int, int]], root: int) -> float:
    """CPU seconds of `root` and every descendant. Counting the children's time that each one
    reaped (cutime, cstime) keeps a process that ended during the round in the sum."""
    children = defaultdict(list)
    for pid, (ppid, _) in table.items():
        children[ppid].append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            total += table[pid][1]
            stack.extend(children[pid])
    return total / TICK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK


class CpuMeter:
    """Cores used by each named process group between `start` and `stop`."""

    def __init__(self, groups: dict[str, int]):
        self.groups = {name: pid for name, pid in groups.items() if pid}

    def sample(self) -> tuple[float, float, dict[str, float]]:
        table = process_table()
        seconds = {name: tree_seconds(table, pid) for name, pid in self.groups.items()}
        return time.monotonic(), machine_busy_seconds(), seconds

    def start(self) -> None:
        self.first = self.sample()

    def stop(self, extra: dict[str, float] | None = None) -> tuple[float, dict[str, float], float]:
        """(wall seconds, cores per group, cores the whole machine kept busy)."""
        (t0, busy0, s0), (t1, busy1, s1) = self.first, self.sample()
        wall = t1 - t0
        cores = {name: (s1[name] - s0[name]) / wall for name in self.groups}
        cores.update({name: seconds / wall for name, seconds in (extra or {}).items()})
        return wall, cores, (busy1 - busy0) / wall


# --- PostgreSQL: its processes, and what its backends wait on ---------------------------------


def libpq_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def postmaster_pid(url: str) -> int:
    """The server's main process, when it runs on this machine (0 when it does not)."""
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        stat = Path(f"/proc/{backend}/stat").read_text()
    except OSError:
        return 0
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def redis_pid(url: str) -> int:
    import redis

    return int(redis.from_url(url).info("server")["process_id"])


class WaitSampler(threading.Thread):
    """Samples pg_stat_activity ten times a second: how many backends of our database run a
    query, and what those that are not on a CPU wait for (a row lock, WAL, the client...)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.halt = libpq_url(url), threading.Event()
        self.samples, self.waits, self.locked = 0, Counter(), Counter()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.halt.wait(0.1):
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type, 'CPU'), left(query, 70) "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchall()
                self.samples += 1
                self.waits.update(kind for kind, _ in rows)
                self.locked.update(query for kind, query in rows if kind == "Lock")

    def stop(self) -> dict[str, float]:
        """Average number of active backends, by what they were doing; "lock on" is the
        statement most often seen waiting for a lock."""
        self.halt.set()
        self.join(timeout=5)
        waits = {kind: n / max(self.samples, 1) for kind, n in self.waits.items()}
        if self.locked:
            waits["lock on"] = self.locked.most_common(1)[0][0]
        return waits


# --- The receiver, in a process of its own -----------------------------------------------------


class ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits for a delayed ACK

    def do_POST(self):
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            key = self.headers.get("Idempotency-Key", "")
            if key in server.keys:
                server.repeats.value += 1
            server.keys.add(key)
            server.records.value += len(body) if isinstance(body, list) else 1
            server.last.value = time.time()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a worker stopped between rounds resets its connection


def serve_receiver(port, records, repeats, last, ready) -> None:
    server = QuietServer(("127.0.0.1", 0), ReceiverHandler)
    server.lock, server.keys = threading.Lock(), set()
    server.records, server.repeats, server.last = records, repeats, last
    port.value = server.server_address[1]
    ready.set()
    server.serve_forever()


class Receiver:
    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self.port, self.records = ctx.Value("i", 0), ctx.Value("q", 0)
        self.repeats, self.last = ctx.Value("q", 0), ctx.Value("d", 0.0)
        ready = ctx.Event()
        self.process = ctx.Process(
            target=serve_receiver,
            args=(self.port, self.records, self.repeats, self.last, ready),
            daemon=True,
        )
        self.process.start()
        if not ready.wait(30):
            raise RuntimeError("the receiver did not start")
        self.url = f"http://127.0.0.1:{self.port.value}/hooks"

    def close(self) -> None:
        self.process.kill()
        self.process.join(5)


# --- Load ------------------------------------------------------------------------------------


def lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{b:03d}" for b in data) + '"'


def wrk(url: str, token: str, connections: int, seconds: float, workdir: Path) -> dict:
    """One run of wrk (one thread): requests, non-2xx answers, p99 ms and its own CPU seconds."""
    script = workdir / "ingest.lua"
    body = orjson.dumps([record(n) for n in range(RECORDS_PER_REQUEST)])
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {lua_string(body)}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "60s"]
    args += ["--latency", "-s", str(script)]
    with open(workdir / "wrk.out", "w+") as out:
        popen = subprocess.Popen([*args, url], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(popen.pid, 0)
        popen.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if popen.returncode:
        raise RuntimeError(f"wrk failed:\n{text}")
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", text, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "bad": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
        "p99": float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)],
        "cpu": usage.ru_utime + usage.ru_stime,
    }


# --- Rounds ----------------------------------------------------------------------------------


@dataclass
class Round:
    processes: int
    wall: float
    records: int
    cores: dict[str, float]
    machine: float
    waits: dict[str, float] = field(default_factory=dict)
    p99: float | None = None
    ran_dry: bool = False

    @property
    def rate(self) -> float:
        return self.records / self.wall

    @property
    def ours(self) -> float:
        return sum(self.cores.values())


@dataclass
class Result:
    database: str
    ingest: list[Round] = field(default_factory=list)
    deliveries: list[Round] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Scaling:
    def __init__(self, label: str, url: str | None, workdir: Path):
        self.result = Result(label)
        self.stack = Stack(url).setup()
        self.workdir = workdir
        self.receiver = Receiver()
        self.pg = self.stack.db_url if self.stack.vendor == "postgresql" else ""
        self.services = {
            "PostgreSQL": postmaster_pid(self.pg) if self.pg else 0,
            "Redis": redis_pid(self.stack.redis_url) if self.stack.redis_url else 0,
        }
        self.sent = 0  # records the ingest endpoint answered for
        # Requests still being served when wrk stops are stored, but not counted by wrk.
        self.unanswered = 0

    def close(self) -> None:
        self.receiver.close()
        self.stack.close()

    def configure(self, web) -> None:
        self.source, _, _ = self.stack.fan_out(
            web, FIELDS, self.receiver.url, batch_size=RECORDS_PER_REQUEST
        )

    def post(self, web, seconds: float, connections: int) -> dict:
        url = f"{web.url}/api/v1/ingest/{self.source['slug']}/"
        result = wrk(url, self.source["token"], connections, seconds, self.workdir)
        if result["bad"] or result["socket_errors"]:
            self.result.problems.append(f"ingest to {web.url}: {result}")
        self.sent += (result["requests"] - result["bad"]) * RECORDS_PER_REQUEST
        self.unanswered += connections * RECORDS_PER_REQUEST
        return result

    def ingest_round(self, processes: int):
        web = self.stack.web(workers=processes, threads=THREADS)
        if processes == PROCESS_COUNTS[0]:
            self.configure(web)
        connections = processes * THREADS
        self.post(web, WARMUP_SECONDS, connections)  # every process imports and connects
        meter = CpuMeter({"web": web.popen.pid, **self.services})
        sampler = self.sampler()
        meter.start()
        load = self.post(web, SECONDS, connections)
        wall, cores, machine = meter.stop({"wrk": load["cpu"]})
        records = (load["requests"] - load["bad"]) * RECORDS_PER_REQUEST
        self.result.ingest.append(
            Round(processes, wall, records, cores, machine, self.waits(sampler), load["p99"])
        )
        return web

    def delivery_round(self, processes: int, web) -> None:
        # Enough waiting deliveries for the round, at a rate as high as any seen so far.
        expected = max([r.rate for r in self.result.ingest + self.result.deliveries])
        backlog = BACKLOG_MARGIN * expected * (SECONDS + WARMUP_SECONDS + 1)
        waiting = self.sent - self.receiver.records.value
        if waiting < backlog:
            ingest_rate = max(r.rate for r in self.result.ingest)
            self.post(web, max(1.0, (backlog - waiting) / ingest_rate), 2 * THREADS)
        before = self.receiver.records.value
        workers = self.stack.workers(workers=processes)
        # Warm once deliveries arrive: every worker process has forked and connected by then.
        deadline = time.monotonic() + 60
        while self.receiver.records.value == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(WARMUP_SECONDS)
        meter = CpuMeter({"workers": workers.popen.pid, "receiver": self.receiver.process.pid})
        meter.groups.update(self.services)
        sampler = self.sampler()
        before = self.receiver.records.value
        meter.start()
        time.sleep(SECONDS)
        wall, cores, machine = meter.stop()
        delivered = self.receiver.records.value - before
        ran_dry = time.time() - self.receiver.last.value > 0.5
        # SIGTERM to the cluster's main process: it stops its workers after their task.
        os.kill(workers.popen.pid, signal.SIGTERM)
        workers.stop(timeout=30)
        self.result.deliveries.append(
            Round(processes, wall, delivered, cores, machine, self.waits(sampler), None, ran_dry)
        )

    def sampler(self) -> WaitSampler | None:
        if not self.pg:
            return None
        sampler = WaitSampler(self.pg)
        sampler.start()
        return sampler

    @staticmethod
    def waits(sampler: WaitSampler | None) -> dict[str, float]:
        return sampler.stop() if sampler else {}

    def check(self) -> None:
        counts = orjson.loads(self.stack.query(COUNTS))
        problems = self.result.problems
        stored = self.sent <= counts["accepted"] <= self.sent + self.unanswered
        if not stored or counts["mailbox"] != counts["accepted"]:
            problems.append(
                f"the endpoint answered for {self.sent} records (and up to {self.unanswered} "
                f"more were in flight), the database: {counts}"
            )
        received = self.receiver.records.value
        if not counts["delivered"] <= received <= counts["delivered"] + counts["delivering"]:
            problems.append(f"the receiver has {received} records, the database says {counts}")
        if self.receiver.repeats.value:
            problems.append(f"{self.receiver.repeats.value} deliveries reached the receiver twice")
        if counts["failed_attempts"]:
            problems.append(f"{counts['failed_attempts']} delivery attempts failed")
        locked = [line for line in self.stack.logs().splitlines() if "database is locked" in line]
        if locked:
            problems.append(f'"database is locked" {len(locked)} times: {locked[0]}')


# Counted in `manage.py shell`: what the product believes happened.
COUNTS = """
import json
from django.db.models import Sum
from mailbox.models import MailboxRecord
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.runs.models import Run
def records(status):
    return Delivery.objects.filter(status=status).aggregate(n=Sum("record_count"))["n"] or 0
print(json.dumps({
    "accepted": Run.objects.aggregate(n=Sum("accepted"))["n"] or 0,
    "mailbox": MailboxRecord.objects.count(),
    "delivered": records("delivered"),
    "delivering": records("delivering"),
    "failed_attempts": DeliveryAttempt.objects.exclude(error="", status_code=200).count(),
}))
"""


def progress(message: str) -> None:
    print(f"  scaling: {message}", file=sys.stderr, flush=True)


def measure(label: str, url: str | None, workdir: Path) -> Result:
    progress(f"{label}: setting up")
    scaling = Scaling(label, url, workdir)
    try:
        web = None
        for processes in PROCESS_COUNTS:
            if web is not None:
                web.stop()
            progress(f"{label}: ingest, {processes} web process(es)")
            web = scaling.ingest_round(processes)
        for processes in PROCESS_COUNTS:
            progress(f"{label}: deliveries, {processes} worker process(es)")
            scaling.delivery_round(processes, web)
        progress(f"{label}: counting")
        scaling.check()
    finally:
        scaling.close()
    return scaling.result


# --- Report ----------------------------------------------------------------------------------

TARGET_AT_2 = 1.5  # 2 processes on 2 cores: at least this many times the records/s of 1


def per_core(rounds: list[Round], *groups: str) -> float:
    """Records per CPU second of `groups` over the rounds: records/s per core actually used."""
    seconds = sum(sum(r.cores.get(g, 0) for g in groups) * r.wall for r in rounds)
    return sum(r.records for r in rounds) / seconds if seconds else float("nan")


def cost(rounds: list[Round], group: str) -> float:
    """Cores `group` uses per 10,000 records/s."""
    return 10_000 / per_core(rounds, group) if per_core(rounds, group) else float("nan")


def scaling_ratio(rounds: list[Round], processes: int) -> float:
    one = rounds[0].rate
    return next(r.rate for r in rounds if r.processes == processes) / one if one else 0.0


def lock_share(r: Round) -> str:
    if not r.waits:
        return "-"
    running = r.waits.get("CPU", 0)
    return f"{running:.1f} / {r.waits.get('Lock', 0):.1f}"


def table(results: list[Result], phase: str, group: str, label: str, load: str) -> list[str]:
    lines = [
        f"| database | {label} | records/s | x 1 process | {group} cores | records/s per "
        f"{group.removesuffix('s')} core | PostgreSQL cores | Redis cores | {load} cores | ours, of {CORES} "
        "cores | other work | PostgreSQL backends running / waiting on a lock |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        rounds = getattr(result, phase)
        for r in rounds:
            dry = " (ran out of work)" if r.ran_dry else ""
            rate_per_core = r.records / (r.cores[group] * r.wall) if r.cores[group] else 0
            lines.append(
                f"| {result.database} | {r.processes} | {r.rate:,.0f}{dry} "
                f"| {scaling_ratio(rounds, r.processes):.2f} | {r.cores[group]:.2f} "
                f"| {rate_per_core:,.0f} | {r.cores.get('PostgreSQL', 0):.2f} "
                f"| {r.cores.get('Redis', 0):.2f} | {r.cores.get(load, 0):.2f} | {r.ours:.2f} "
                f"| {max(r.machine - r.ours, 0):.2f} | {lock_share(r)} |"
            )
    return lines


def findings(result: Result) -> list[str]:
    lines = []
    for phase, group, noun, what in (
        ("ingest", "web", "web", "gunicorn processes"),
        ("deliveries", "workers", "worker", "worker processes"),
    ):
        rounds = getattr(result, phase)
        services = [s for s in ("PostgreSQL", "Redis") if any(s in r.cores for r in rounds)]
        best = max(rounds, key=lambda r: r.rate)
        at_2 = scaling_ratio(rounds, 2)
        busy = best.machine / CORES
        limit = (
            "the CPU: the box's cores were saturated, so more processes only share them"
            if busy >= SATURATED
            else "not the CPU (cores were left idle): see the lock waits and the database"
        )
        lines.append(
            f"- {result.database}, {phase}: {per_core(rounds, group):,.0f} records/s per "
            f"{noun} core, {per_core(rounds, group, *services):,.0f} "
            f"per core of {' + '.join((group, *services))} together. 2 {what} gave {at_2:.2f}x the "
            f"records/s of 1 (target {TARGET_AT_2}x: {'met' if at_2 >= TARGET_AT_2 else '**not met**'}), "
            f"4 gave {scaling_ratio(rounds, 4):.2f}x. At the best point ({best.processes} of "
            f"them, {best.rate:,.0f} records/s) the machine was {busy:.0%} busy "
            f"({best.ours:.2f} cores ours, {max(best.machine - best.ours, 0):.2f} other work): "
            f"the limit here is {limit}."
        )
    if result.database == "PostgreSQL":
        ingest, deliveries = result.ingest, result.deliveries
        most = max(ingest, key=lambda r: r.waits.get("Lock", 0))
        waiting, running = most.waits.get("Lock", 0), most.waits.get("CPU", 0)
        statement = next((r.waits["lock on"] for r in ingest if "lock on" in r.waits), "")
        pg = cost(ingest, "PostgreSQL") + cost(deliveries, "PostgreSQL")
        redis = cost(ingest, "Redis") + cost(deliveries, "Redis")
        lines.append(
            f"- PostgreSQL, next limit: the database used {pg:.2f} cores per 10,000 records/s taken in and "
            f"delivered (ingest {cost(ingest, 'PostgreSQL'):.2f}, deliveries "
            f"{cost(deliveries, 'PostgreSQL'):.2f}); Redis {redis:.2f}, so the broker is "
            f"{'not' if redis < pg / 4 else 'also'} the next limit. During ingest, with {most.processes} web process(es), "
            f"{waiting:.1f} backends on average waited for a lock while {running:.1f} ran"
            + (f", most often `{statement.strip()}`" if statement else "")
            + ": "
            + (
                "ingest into one mailbox is serialised by database writes (its sequence row "
                "is locked until each request commits), so more web processes add waiters, "
                "not throughput, for one mailbox."
                if waiting > running
                else "lock waits were not the limit."
            )
        )
    return lines


def plan(result: Result, target: int = 10_000) -> str:
    ingest, deliveries = result.ingest, result.deliveries
    web, workers = target / per_core(ingest, "web"), target / per_core(deliveries, "workers")
    pg = target * (cost(ingest, "PostgreSQL") + cost(deliveries, "PostgreSQL")) / 10_000
    return (
        f"Sized from these figures, {target:,} records/s in and delivered needs about "
        f"{web:.1f} web cores, {workers:.1f} worker cores and {pg:.1f} PostgreSQL cores "
        'busy (plus headroom; see docs/deploy.md, "Capacity plan").'
    )


def report(results: list[Result]) -> str:
    lines = [
        "### Scaling with processes",
        "",
        f"One ingest endpoint feeding a mailbox and an HTTP destination (batches of "
        f"{RECORDS_PER_REQUEST}, a receiver on 127.0.0.1 in its own process). **Ingest**: `wrk` "
        f"(one thread, 4 keep-alive connections per gunicorn process) posts {RECORDS_PER_REQUEST} "
        f"records of 10 fields per request to 1, 2 and 4 gunicorn processes of {THREADS} "
        "threads, no workers running. **Deliveries**: 1, 2 and 4 worker processes (one "
        "qcluster) drain the deliveries that ingest left, one task per request's batch, "
        f"counted at the receiver. {SECONDS:.0f} s rounds after a warm-up. Cores are CPU "
        "seconds per second from /proc/<pid>/stat of each process group (with the children "
        'it reaped); "other work" is the rest of the machine\'s busy time (/proc/stat). '
        "Baseline: 1 process of the same kind, same run. PostgreSQL backends: how many of "
        "our database's were running a query, and waiting on a lock, sampled every 0.1 s.",
        "",
        "Ingest:",
        "",
        *table(results, "ingest", "web", "web processes", "wrk"),
        "",
        "Deliveries:",
        "",
        *table(results, "deliveries", "workers", "worker processes", "receiver"),
        "",
    ]
    for result in results:
        lines += findings(result)
    pg = next((r for r in results if r.database == "PostgreSQL"), None)
    lines += [""]
    if pg is None:
        lines.append(
            "PostgreSQL was not measured in this run: its figures, which docs/deploy.md's "
            "capacity plan uses, need `make bench-postgres` (PostgreSQL + Redis beside SQLite)."
        )
    else:
        lines.append(plan(pg))
    for result in results:
        if result.problems:
            lines += ["", f"Problems on {result.database}:", *[f"- {p}" for p in result.problems]]
    return "\n".join(lines) + "\n"


def measured() -> list[tuple[str, str | None]]:
    """PostgreSQL when DATABASE_URL names one: the deployment this sizes. SQLite otherwise,
    so `make bench` shows the shape; measuring both would double the benchmark's time."""
    pairs = databases()
    return [pair for pair in pairs if pair[0] == "PostgreSQL"] or pairs


def run() -> str:
    workdir = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    try:
        results = [measure(label, url, workdir) for label, url in measured()]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(results)
    if any(result.problems for result in results):
        raise AssertionError(text)
    return text


if __name__ == "__main__":
    print(run())
