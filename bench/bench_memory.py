"""Memory: peak RSS of a web process ingesting a 10 MB body, and of a worker delivering its run.

``run()`` returns a markdown section; ``python bench/bench_memory.py`` prints it.

On every database of `bench.stack.databases()` (SQLite always, PostgreSQL + Redis when
DATABASE_URL names one): a fresh installation (`bench.stack.Stack`) with one gunicorn worker
process (the deployed configuration, as `make serve` starts it) and a qcluster of one worker.
An ingest endpoint feeds a mailbox and an HTTP destination (batches of 1,000 records, the
largest batch_size, so each delivery's payload is as big as they come; a receiver on 127.0.0.1
in this process). Each run is one request: a valid batch of 10,000 records in a
body of about 10 MB (the largest body and record count the endpoint accepts), which the web
process validates and stores, and which the workers then deliver.

Each process's baseline is its RSS when idle after start (after one small warm-up ingest and
delivery, so that what is imported on first use is not counted). Its peak resident memory
(VmHWM, reset with /proc/PID/clear_refs once idle) is read after the runs; its growth (peak
minus idle) is reported as a multiple of the body size. For the qcluster, every process of
the tree is read and the one that grew most is reported (the worker that ran the deliveries).

BENCH_SHORT=1 makes one run instead of three.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, databases
from tests.crash.processes import Receiver

RECORDS = 10_000
BODY_BYTES = 10_000_000
RUNS = 1 if os.environ.get("BENCH_SHORT") else 3
# The largest batch_size a destination takes: a worker's claims hold the biggest payloads.
DESTINATION_BATCH = 1000
DELIVERY_SECONDS = 300
# The bounds checked: a process's peak growth, as a multiple of the body it handled.
WEB_BOUND = 5.0
WORKER_BOUND = 1.0
MB = 1024 * 1024

FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "name", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "note", "type": "string"},
]


def make_body(first_id: int, count: int = RECORDS, size: int = BODY_BYTES) -> bytes:
    """A valid JSON array of `count` records, `size` bytes long (padded in each record's note)."""

    def record(n: int, note: str) -> dict:
        return {
            "id": n,
            "email": f"c{n}@example.com",
            "name": f"Customer {n}",
            "amount": n % 100 + 0.5,
            "note": note,
        }

    bare = len(orjson.dumps([record(n, "") for n in range(first_id, first_id + count)]))
    pad, extra = divmod(size - bare, count)
    body = orjson.dumps(
        [
            record(n, "x" * (pad + (1 if i < extra else 0)))
            for i, n in enumerate(range(first_id, first_id + count))
        ]
    )
    assert len(body) == size, len(body)
    return body


# --- Reading a process's memory ----------------------------------------------------------------


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh from the current RSS (Linux: 5 > clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in parentheses may hold spaces: the fields follow the last ")".
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Reading:
    idle_kb: int
    peak_kb: int = 0
    end_kb: int = 0

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.idle_kb) / 1024


@dataclass
class Result:
    database: str
    web: Reading | None = None
    worker: Reading | None = None
    ingest_seconds: list[float] = field(default_factory=list)
    deliver_seconds: list[float] = field(default_factory=list)
    web_after_run_kb: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --- The run -------------------------------------------------------------------------------------


def ingest(url: str, token: str, body: bytes) -> dict:
    response = requests.post(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=300,
    )
    if response.status_code != 202:
        raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:500]}")
    return response.json()


def wait_for(receiver: Receiver, count: int) -> bool:
    deadline = time.monotonic() + DELIVERY_SECONDS
    while time.monotonic() < deadline:
        if len(receiver.record_ids()) >= count:
            return True
        time.sleep(0.2)
    return False


def measure(label: str, database_url: str | None) -> Result:
    result = Result(label)
    stack = Stack(database_url).setup()
    receiver = Receiver()
    try:
        server = stack.web(workers=1, threads=4)
        cluster = stack.workers(workers=1)
        source, _, _ = stack.fan_out(server, FIELDS, receiver.url, batch_size=DESTINATION_BATCH)
        url = f"{server.url}/api/v1/ingest/{source['slug']}/"
        # Warm-up: every code path once, so that its imports are in the idle baseline.
        ingest(url, source["token"], make_body(-100, 100, 100_000))
        if not wait_for(receiver, 100):
            raise RuntimeError(f"the warm-up was not delivered:\n{stack.logs()[-3000:]}")
        time.sleep(1)

        (web_pid,) = descendants(server.popen.pid)
        worker_pids = [*descendants(cluster.popen.pid), cluster.popen.pid]
        pids = [web_pid, *worker_pids]
        idle = {pid: status_kb(pid, "VmRSS") for pid in pids}
        for pid in pids:
            reset_peak(pid)

        expected = 100
        for n in range(RUNS):
            body = make_body(n * RECORDS)
            started = time.monotonic()
            answer = ingest(url, source["token"], body)
            result.ingest_seconds.append(time.monotonic() - started)
            if answer.get("accepted") != RECORDS:
                result.problems.append(f"run {n + 1}: accepted {answer}")
            expected += RECORDS
            if not wait_for(receiver, expected):
                result.problems.append(
                    f"run {n + 1}: {len(receiver.record_ids())} of {expected} records delivered"
                )
                break
            result.deliver_seconds.append(time.monotonic() - started)
            # Memory that stays after each run shows growth from run to run, not only a peak.
            result.web_after_run_kb.append(status_kb(web_pid, "VmRSS"))

        readings = {
            pid: Reading(idle[pid], status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS"))
            for pid in pids
        }
        result.web = readings[web_pid]
        result.worker = max(
            (readings[pid] for pid in worker_pids), key=lambda reading: reading.growth_mb
        )
        stored = int(
            stack.query(
                "from mailbox.models import MailboxRecord; print(MailboxRecord.objects.count())"
            )
        )
        if stored != expected:
            result.problems.append(f"the mailbox holds {stored} records of {expected}")
        if sum(receiver.repeats.values()):
            result.problems.append(f"repeated deliveries: {sum(receiver.repeats.values())}")
    finally:
        receiver.close()
        stack.close()
    return result


# --- The report ----------------------------------------------------------------------------------


def verdict(reading: Reading, bound: float) -> str:
    return "met" if reading.growth_mb * MB <= bound * BODY_BYTES else "not met"


def report(results: list[Result]) -> str:
    body_mb = BODY_BYTES / MB
    labels = [r.database for r in results]
    lines = [
        "## Memory",
        "",
        f"Peak resident memory (VmHWM) of one gunicorn worker process ingesting a {body_mb:.1f} MiB "
        f"body ({RECORDS:,} valid records in one request, to an ingest endpoint feeding a mailbox "
        f"and an HTTP destination in batches of {DESTINATION_BATCH}), and of the qcluster "
        f"process that delivered those runs to a receiver on 127.0.0.1; {RUNS} runs, one after "
        "the other. Baselines: each process's RSS when idle after start, and the body size. "
        f"Target, bounded: the web process grows at most {WEB_BOUND:g}x the body, the worker at "
        f"most {WORKER_BOUND:g}x (a worker holds only the deliveries it claimed, never a whole run).",
        "",
        "| process | "
        + " | ".join(
            f"{label} idle MiB | {label} peak MiB | {label} growth MiB (x body)" for label in labels
        )
        + " | bound | target |",
        "|---|" + "---:|---:|---:|" * len(labels) + "---|---|",
    ]
    for name, attribute, bound in (
        ("web (gunicorn worker), ingesting", "web", WEB_BOUND),
        ("worker (qcluster), delivering", "worker", WORKER_BOUND),
    ):
        cells, met = [], []
        for r in results:
            reading: Reading = getattr(r, attribute)
            cells += [
                f"{reading.idle_kb / 1024:.0f}",
                f"{reading.peak_kb / 1024:.0f}",
                f"{reading.growth_mb:.0f} ({reading.growth_mb * MB / BODY_BYTES:.1f}x)",
            ]
            met.append(f"{r.database} {verdict(reading, bound)}")
        lines.append(
            f"| {name} | {' | '.join(cells)} | growth <= {bound:g}x body | {', '.join(met)} |"
        )
    lines += [
        "",
        "Per run: "
        + "; ".join(
            f"{r.database}: ingest {max(r.ingest_seconds):.1f} s at most, delivered "
            f"{max(r.deliver_seconds or [0]):.1f} s after it was sent at most, web RSS after each "
            f"run {', '.join(f'{kb / 1024:.0f}' for kb in r.web_after_run_kb)} MiB, worker RSS "
            f"after the runs {r.worker.end_kb / 1024:.0f} MiB"
            for r in results
        )
        + ".",
    ]
    for r in results:
        if r.problems:
            lines += ["", f"Problems on {r.database}:", *[f"- {p}" for p in r.problems]]
    return "\n".join(lines) + "\n"


def run() -> str:
    results = [measure(label, url) for label, url in databases()]
    text = report(results)
    if any(r.problems for r in results):
        raise AssertionError(text)
    return text


if __name__ == "__main__":
    print(run())
