"""The long form of the load benchmark (`BENCH_LONG=1`): 10 minutes at 10,000 records/s offered.

Batches of 100 records go to an ingest endpoint whose two pipelines fan them out to a
mailbox (drained by a consumer that long-polls and acknowledges) and to an HTTP
destination (a receiver on 127.0.0.1) in deliveries of 100 records. The receiver and the
consumer run in a process of their own (bench/sustained_peer.py).

Per database the offered rate first steps down in short runs (10,000, 5,000, 2,500 ...
records/s) until one holds; the long run then goes at that rate. Knobs for development:
BENCH_LONG_SECONDS (600), BENCH_LONG_RATE (10000, the first step), BENCH_STEP_SECONDS (60).
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from dataclasses import dataclass, field

import orjson

from bench.bench_load import COUNTS, LOCKED, configure, make_batch, percentile
from bench.footprint import Footprint
from bench.stack import Stack, databases
from bench.sustained_peer import Peer

RECORDS_PER_REQUEST = 100
DESTINATION_BATCH = 100
SENDERS = 16
WARMUP_REQUESTS = 20
SAMPLE_SECONDS = 10
LOWEST_RATE = 500  # today's short run: below it the step-down stops
# What "held" means; every bound is printed beside the figures it judges.
HELD_SHARE = 0.95  # records/s achieved over offered
STABLE_P99 = 2.0  # p99 ingest latency of the last minute over the first minute's
RSS_GROWTH = 2.0  # RSS of the web and worker tiers (and Redis) at the end over the start
# The mailbox purge runs every minute during the run (hourly in production), and the
# benchmark's mailbox keeps nothing once acknowledged (PURGE_EVERY_MINUTE): about two minutes
# of records stay between two purges; three is the bound.
PURGE_KEPT_MINUTES = 3
DRAIN_LIMIT = 300

# The API keeps mailbox records at least a day; the benchmark's mailbox keeps nothing once
# acknowledged, so that the purge has all the run's records to delete while it runs.
PURGE_EVERY_MINUTE = """
from datetime import timedelta
from django.utils import timezone
from django_q.models import Schedule
from connectors.models import Connector
Connector.objects.filter(kind="mailbox").update(retention_days=0)
Schedule.objects.filter(name="purge-mailboxes").update(
    schedule_type=Schedule.MINUTES, minutes=1, next_run=timezone.now() + timedelta(minutes=1)
)
"""


def held_drain(duration: float) -> float:
    """Seconds after the load within which the backlog must be gone to have kept up."""
    return max(30.0, 0.05 * duration)


def knob(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass
class Sample:
    at: float  # seconds since the load started
    accepted: int
    delivered: int
    consumed: int
    rss_mb: dict[str, float]
    database_mb: float
    mailbox_rows: int
    cpu_seconds: dict[str, float]


@dataclass
class Run:
    database: str
    rate: float  # records/s offered
    duration: float
    long: bool
    statuses: dict[int, int] = field(default_factory=dict)
    # (sent at, seconds since the load started; latency s; late s behind its slot)
    sends: list[tuple[float, float, float]] = field(default_factory=list)
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    measured: int = 0  # records in, less the warm-up's
    load_seconds: float = 0.0
    drain_seconds: float | None = None  # None: not drained within the limit
    peer: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    at_load_end: Sample | None = None
    locked_lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def achieved(self) -> float:
        return self.measured / self.load_seconds if self.load_seconds else 0.0

    @property
    def server_errors(self) -> int:
        statuses = {**self.statuses}
        for status, n in self.peer.get("consumer_statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + n
        return sum(n for status, n in statuses.items() if int(status) >= 500)

    def p99(self, last: bool) -> float:
        window = 60.0 if self.duration >= 180 else self.duration / 3
        begin = self.duration - window if last else 0.0
        return percentile(
            [latency for at, latency, _ in self.sends if begin <= at < begin + window], 0.99
        )

    def memory_growth(self) -> dict[str, float]:
        start, end = self.samples[0].rss_mb, self.samples[-1].rss_mb
        return {tier: end.get(tier, 0) / start[tier] for tier in start if start[tier]}

    def checks(self) -> dict[str, bool]:
        """Each condition of "held", by the words the report prints for it."""
        checks = {
            f"achieved >= {HELD_SHARE:.0%} of offered": self.achieved >= HELD_SHARE * self.rate,
            f"drained within {held_drain(self.duration):.0f} s": self.drain_seconds is not None
            and self.drain_seconds <= held_drain(self.duration),
            f"p99 last minute <= {STABLE_P99:g}x first": self.p99(True)
            <= STABLE_P99 * self.p99(False),
            "every record counted, no 5xx, never locked": not self.problems,
        }
        if self.long:
            growth = self.memory_growth()
            checks[f"RSS end <= {RSS_GROWTH:g}x start (web, workers, redis)"] = all(
                growth.get(tier, 1) <= RSS_GROWTH for tier in ("web", "workers", "redis")
            )
            kept = self.at_load_end.mailbox_rows if self.at_load_end else 0
            checks[f"mailbox rows kept <= {PURGE_KEPT_MINUTES} min of records"] = (
                kept <= PURGE_KEPT_MINUTES * 60 * self.rate
            )
        return checks

    def cpu_per_thousand(self) -> dict[str, float]:
        """CPU seconds each tier spent per 1,000 records in, from the start of the load until
        everything was delivered and consumed (or the drain gave up)."""
        start, end = self.samples[0].cpu_seconds, self.samples[-1].cpu_seconds
        thousands = max(self.received, 1) / 1000
        return {tier: (end.get(tier, 0) - start[tier]) / thousands for tier in start}

    @property
    def held(self) -> bool:
        return all(self.checks().values())


def send(port: int, path: str, token: str, slots: list[tuple[int, float]], start: float, out: list):
    """Post each slot's batch at its time (open loop); late slots go at once, counted late."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    for slot, at in slots:
        payload = orjson.dumps(make_batch(slot * RECORDS_PER_REQUEST, RECORDS_PER_REQUEST))
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        begin = time.monotonic()
        try:
            conn.request("POST", path, payload, headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            out.append((begin - start, 0.0, begin - at, 0, {"error": repr(exc)}))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        end = time.monotonic()
        answer = orjson.loads(body) if response.status == 202 else {"body": body[:300]}
        out.append((begin - start, end - begin, begin - at, response.status, answer))
    conn.close()


def run_once(url: str | None, rate: float, duration: float, *, long: bool) -> Run:
    requests = int(duration * rate / RECORDS_PER_REQUEST)
    stack = Stack(url).setup()
    result = Run(database=stack.vendor, rate=rate, duration=duration, long=long)
    peer = Peer((requests + WARMUP_REQUESTS) * RECORDS_PER_REQUEST)
    try:
        server = stack.web(workers=2, threads=4)
        cluster = stack.workers(workers=2)
        source, box = configure(stack, server, peer.url, DESTINATION_BATCH)
        stack.query(PURGE_EVERY_MINUTE)
        peer.ask("consume", server.port, box["slug"], box["token"])
        path = f"/api/v1/ingest/{source['slug']}/"
        outs: list[list] = [[] for _ in range(SENDERS + 1)]
        # Warm-up, unmeasured but counted: record ids after the measured ones.
        now = time.monotonic()
        send(
            server.port,
            path,
            source["token"],
            [(requests + i, now) for i in range(WARMUP_REQUESTS)],
            now,
            outs[-1],
        )
        footprint = Footprint(stack, server, cluster)
        start = time.monotonic() + 0.5
        sampling = threading.Event()

        def sample() -> Sample:
            counts = peer.ask("counts")
            accepted = sum(a.get("accepted", 0) for out in outs for *_, a in list(out))
            return Sample(
                round(time.monotonic() - start, 1),
                accepted,
                counts["delivered"],
                counts["consumed"],
                footprint.rss_mb(),
                footprint.database_mb(),
                footprint.mailbox_rows(),
                footprint.cpu_seconds(peer.process.pid),
            )

        def sampler() -> None:
            while not sampling.wait(SAMPLE_SECONDS):
                result.samples.append(sample())

        result.samples.append(sample())
        sampler_thread = threading.Thread(target=sampler, daemon=True)
        sampler_thread.start()
        interval = RECORDS_PER_REQUEST / rate
        senders = [
            threading.Thread(
                target=send,
                args=(
                    server.port,
                    path,
                    source["token"],
                    [(i, start + i * interval) for i in range(k, requests, SENDERS)],
                    start,
                    outs[k],
                ),
            )
            for k in range(SENDERS)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        load_end = time.monotonic()
        result.load_seconds = load_end - start
        for out in outs:
            for at, latency, late, status, answer in out:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 202:
                    result.received += answer["received"]
                    result.accepted += answer["accepted"]
                    result.rejected += answer["rejected"]
                elif len(result.problems) < 5:
                    result.problems.append(f"ingest answered {status}: {answer}")
                if out is not outs[-1]:
                    result.sends.append((at, latency, late))
                    result.measured += answer.get("received", 0)
        result.at_load_end = sample()
        limit = DRAIN_LIMIT if long else held_drain(duration)
        while time.monotonic() < load_end + limit:
            counts = peer.ask("counts")
            if min(counts["delivered"], counts["consumed"]) >= result.accepted:
                result.drain_seconds = time.monotonic() - load_end
                break
            time.sleep(0.5)
        sampling.set()
        sampler_thread.join()
        result.samples.append(sample())
        result.peer = peer.close()
        result.locked_lines = [line for line in stack.logs().splitlines() if LOCKED in line]
        if result.drain_seconds is not None:
            result.counts = orjson.loads(stack.query(COUNTS))
    finally:
        if peer.process.is_alive():
            peer.close()
        stack.close()
    check(result)
    return result


def check(run: Run) -> None:
    """Correctness, appended to `problems`: counts first taken by the senders, the far side
    and the database must agree (only once drained: a backlog is judged as such)."""
    peer, counts = run.peer, run.counts
    if run.server_errors:
        run.problems.append(f"{run.server_errors} answers were 5xx")
    if run.locked_lines or counts.get("locked_attempts"):
        run.problems.append(f'"{LOCKED}" appeared: {run.locked_lines[:3]}')
    if run.received != run.accepted + run.rejected:
        run.problems.append(
            f"in {run.received} != accepted {run.accepted} + rejected {run.rejected}"
        )
    run.problems += peer.get("consumer_problems", [])
    if peer.get("delivered_repeats") or peer.get("consumed_repeats"):
        run.problems.append(
            f"records seen twice: {peer['delivered_repeats']} delivered, {peer['consumed_repeats']} consumed"
        )
    if run.drain_seconds is None:
        return
    told = (run.received, run.accepted, run.rejected)
    if (counts["received"], counts["accepted"], counts["rejected"]) != told:
        run.problems.append(f"the runs count {counts} but the senders were told {told}")
    if counts["record_errors"] != run.rejected:
        run.problems.append(f"{run.rejected} rejected but {counts['record_errors']} kept")
    if counts["mailbox_appended"] != run.accepted:
        run.problems.append(
            f"{counts['mailbox_appended']} appended to the mailbox, of {run.accepted}"
        )
    if peer["delivered"] != run.accepted or peer["consumed"] != run.accepted:
        run.problems.append(
            f"delivered {peer['delivered']}, consumed {peer['consumed']}, of {run.accepted} accepted"
        )
    not_delivered = {s: n for s, n in counts["deliveries"].items() if s != "delivered"}
    if not_delivered:
        run.problems.append(f"deliveries not delivered after draining: {not_delivered}")


def measure(label: str, url: str | None) -> list[Run]:
    """Short steps down from the first rate until one holds, then the long run at that rate."""
    rate = knob("BENCH_LONG_RATE", 10_000)
    # Down by a quarter of the first rate (10,000, 7,500, 5,000, 2,500), then by halves: the
    # rate held is reported to within a quarter, not a half, of the first.
    down = rate / 4
    step = knob("BENCH_STEP_SECONDS", 60)
    runs = []
    while rate >= LOWEST_RATE:
        print(f"  {label}: {step:.0f} s step at {rate:,.0f} records/s", flush=True)
        runs.append(run_once(url, rate, step, long=False))
        if runs[-1].held:
            break
        rate = rate - down if rate > down else rate / 2
    if runs[-1].held:
        seconds = knob("BENCH_LONG_SECONDS", 600)
        print(f"  {label}: {seconds:.0f} s at {rate:,.0f} records/s", flush=True)
        runs.append(run_once(url, rate, seconds, long=True))
    return runs


def mb(value: float) -> str:
    return f"{value:,.0f}"


def report(measured: dict[str, list[Run]]) -> str:
    first = knob("BENCH_LONG_RATE", 10_000)
    lines = [
        "### Sustained load, long run",
        "",
        f"Batches of {RECORDS_PER_REQUEST} records (1 in 20 invalid) posted to an ingest endpoint "
        f"on a fixed schedule by {SENDERS} connections (open loop), fanned out by two pipelines "
        f"to an HTTP destination (deliveries of {DESTINATION_BATCH} records to a receiver on "
        "127.0.0.1 that applies each Idempotency-Key once) and to a mailbox a consumer "
        "long-polls (1,000 records a page) and acknowledges about once a second; the receiver "
        "and the consumer run in a process of their own. gunicorn 2 processes x 4 threads, "
        "a qcluster of 2 workers, a fresh database per run. Each database first steps the "
        f"offered rate down from {first:,.0f} records/s in short runs (by a quarter of it, "
        "then by halves) until one holds, then "
        "runs long at that rate. Baseline: the offered rate, and the first minute of the same "
        "run for latency and memory.",
        "",
        "A run holds when: " + "; ".join(_bounds()) + ".",
        "",
        "| database | run | offered rec/s | achieved rec/s (x offered) | records in | delivered "
        "HTTP | consumed mailbox | rejected | ingest p99 first / last min ms (x) "
        "| delivery wait p99 s | drain s | 5xx | locked | held |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, runs in measured.items():
        for r in runs:
            p99s = (r.p99(False), r.p99(True))
            wait = r.counts.get("delivery_wait_p99")
            lines.append(
                f"| {label} | {'long' if r.long else 'step'} {r.duration:.0f} s | {r.rate:,.0f} "
                f"| {r.achieved:,.0f} ({r.achieved / r.rate:.2f}x) | {r.received:,} "
                f"| {r.peer.get('delivered', 0):,} | {r.peer.get('consumed', 0):,} | {r.rejected:,} "
                f"| {p99s[0] * 1000:,.0f} / {p99s[1] * 1000:,.0f} ({p99s[1] / p99s[0]:.1f}x) "
                f"| {'-' if wait is None else f'{wait:.1f}'} "
                f"| {'not within ' + str(round(held_drain(r.duration))) if r.drain_seconds is None else f'{r.drain_seconds:.0f}'} "
                f"| {r.server_errors} | {len(r.locked_lines)} | {'**yes**' if r.held else '**no**'} |"
            )
    for label, runs in measured.items():
        for r in runs:
            failed = [name for name, ok in r.checks().items() if not ok]
            if failed:
                lines += [
                    "",
                    f"{label}, {r.rate:,.0f} records/s for {r.duration:.0f} s, not held: "
                    + "; ".join(failed)
                    + ".",
                ]
                lines += [f"- {p}" for p in r.problems[:8]]
    lines += ["", *cpu_table(measured)]
    for label, runs in measured.items():
        long = [r for r in runs if r.long]
        if long:
            lines += ["", *footprint_table(label, long[0])]
    lines += ["", *verdicts(measured)]
    return "\n".join(lines) + "\n"


def _bounds() -> list[str]:
    return [
        f"records/s achieved >= {HELD_SHARE:.0%} of offered",
        "every record delivered and consumed within max(30 s, 5% of the run) after the load",
        f"ingest p99 of the last minute <= {STABLE_P99:g}x the first minute's (thirds of a short step)",
        "records in = accepted + rejected, each accepted record delivered once and consumed "
        'once, the database\'s counts the same, no 5xx, no "database is locked" in any log',
        f"on the long run also: RSS of the web and worker tiers and Redis at the end <= "
        f"{RSS_GROWTH:g}x the start, and mailbox rows kept at the end of the load <= "
        f"{PURGE_KEPT_MINUTES} minutes of offered records",
    ]


PRODUCT = ("web", "workers", "postgresql", "redis")


def cpu_table(measured: dict[str, list[Run]]) -> list[str]:
    """Where the CPU goes, per record: the figure a shared machine skews least."""
    tiers = list(
        dict.fromkeys(t for runs in measured.values() for r in runs for t in r.cpu_per_thousand())
    )
    lines = [
        "CPU seconds per 1,000 records in, by tier, from the start of the load until everything "
        "was delivered and consumed (user + system time from /proc; the load generator and the "
        "receiver + consumer are the benchmark's own). The last column divides two cores by the "
        "product's tiers: the rate this box could carry at that cost if nothing else ran on it.",
        "",
        f"| database | run | {' | '.join(tiers)} | product | records/s on 2 cores |",
        f"|---|---|{'---:|' * (len(tiers) + 2)}",
    ]
    for label, runs in measured.items():
        for r in runs:
            cpu = r.cpu_per_thousand()
            product = sum(cpu.get(t, 0) for t in PRODUCT)
            lines.append(
                f"| {label} | {'long' if r.long else 'step'} {r.rate:,.0f}/s "
                f"| {' | '.join(f'{cpu.get(t, 0):.2f}' for t in tiers)} | {product:.2f} "
                f"| {2000 / product if product else 0:,.0f} |"
            )
    return lines


def footprint_table(label: str, r: Run) -> list[str]:
    start, end = r.samples[0], r.samples[-1]
    growth = r.memory_growth()
    minutes = max(r.load_seconds / 60, 1e-9)
    kept = r.at_load_end.mailbox_rows if r.at_load_end else 0
    # The database is counted only once the far side got everything (see `check`).
    appended = (
        f"{r.counts['mailbox_appended']:,} records"
        if "mailbox_appended" in r.counts
        else "records not counted (the run did not drain in time)"
    )
    lines = [
        f"{label}, long run: memory and storage, start of the load vs after the drain "
        f"(sampled every {SAMPLE_SECONDS} s):",
        "",
        "| what | start | end | end / start |",
        "|---|---:|---:|---:|",
    ]
    for tier in start.rss_mb:
        lines.append(
            f"| RSS {tier} (MB, its processes summed) | {mb(start.rss_mb[tier])} "
            f"| {mb(end.rss_mb.get(tier, 0))} | {growth.get(tier, 0):.2f}x |"
        )
    lines += [
        f"| database (MB) | {mb(start.database_mb)} | {mb(end.database_mb)} "
        f"| {end.database_mb / start.database_mb:.1f}x |",
        "",
        f"The database grew {(end.database_mb - start.database_mb) / minutes:,.1f} MB a minute of "
        f"load. The mailbox purge ran every minute from the qcluster's own schedule (set to "
        f"Minutes 1 for the run; hourly in production) with the mailbox's retention set to 0 days "
        "in the database (the API's least is 1 day): "
        f"{appended} appended, {kept:,} rows kept when the "
        f"load ended, {end.mailbox_rows:,} after the drain "
        f"(the peak seen: {max(s.mailbox_rows for s in r.samples):,}). What still grows: runs and "
        "rejected records (purged after RUN_RETENTION_DAYS, 30), delivered deliveries and their payloads "
        "(purged after DELIVERY_RETENTION_DAYS, the same 30) - so the size after 10 minutes is "
        "mostly those.",
        "PostgreSQL's RSS counts the shared buffers each backend touched, so it rises as the "
        "cache warms; it is shown, not bounded."
        if "postgresql" in start.rss_mb
        else "",
    ]
    return [line for line in lines if line is not None]


def verdicts(measured: dict[str, list[Run]]) -> list[str]:
    lines = []
    for label, runs in measured.items():
        held = [r for r in runs if r.held]
        long = [r for r in runs if r.long]
        best = max((r.rate for r in held), default=None)
        text = "nothing held" if best is None else f"{best:,.0f} records/s"
        if long:
            text += (
                f" (long run of {long[0].duration:.0f} s: {'held' if long[0].held else 'not held'})"
            )
        lines.append(f"- {label}: highest rate held {text}.")
    pg = measured.get("PostgreSQL")
    if pg is not None:
        met = any(r.long and r.held and r.rate >= 10_000 and r.duration >= 600 for r in pg)
        lines.append(
            f"- Target, 10,000 records/s held for 10 minutes on PostgreSQL: **{'met' if met else 'not met'}**."
        )
    else:
        lines.append("- Target (PostgreSQL): not measured, DATABASE_URL is not a PostgreSQL URL.")
    return lines


def run_long() -> str:
    measured = {label: measure(label, url) for label, url in databases()}
    return report(measured)
