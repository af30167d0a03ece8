"""A gunicorn worker ingesting large bodies one after another levels off instead of growing,
and one large body raises its peak by a bounded multiple of the body.

Each body goes to a mailbox and to an HTTP destination. Freed memory that glibc kept, and
deliveries kept in reference cycles, grew the process by several MiB per request, run after
run; now its RSS after the first few requests stays within a bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import requests

from tests.crash.processes import WebServer
from tests.helpers import make_connector, make_pipeline

RECORDS = 5000
NOTE = "x" * 900
REQUESTS = 8
# Growth allowed from the first request's RSS to the least of the last three, over seven more
# bodies. The worker trims once it has grown 8 MiB since its last trim, so any sample may sit
# anywhere in that band above the floor: two of three did (a median 13 MiB up, in CI) while the
# floor stayed 5 MiB up. A leak raises the floor itself: deliveries in reference cycles, or no
# trim, grew the worker 35-40 MiB over the seven bodies when this test was written (without the
# trim now, with the fixed mmap threshold still set: 6 and 23 MiB in two runs).
BOUND = 12 * 1024 * 1024
# The peak growth of the worker ingesting one 10 MB body, as a multiple of the body: 3.7x
# measured; 4.5x while the parsed and cleaned records stayed alive until the commit, beside
# the mailbox texts and delivery payloads the transaction writes.
PEAK_BOUND = 4.2
FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "note", "type": "string"},
]


def body(round_: int) -> bytes:
    first = round_ * RECORDS
    return orjson.dumps(
        [
            {"id": n, "email": f"c{n}@example.com", "note": NOTE}
            for n in range(first, first + RECORDS)
        ]
    )


def resident_bytes(pid: int, key: str = "VmRSS") -> int:
    """The process's resident memory now, or at its peak (key VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} for {pid}")


@dataclass
class Worker:
    pid: int
    url: str
    headers: dict[str, str]


@pytest.fixture
def worker(live_env, processes, tmp_path) -> Worker:
    """One gunicorn worker process serving an ingest endpoint fanned out to a mailbox and to an
    HTTP destination."""
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    add_destination(source, "mailbox")
    add_destination(source, "http_destination")
    web = WebServer(live_env, tmp_path / "web.log", workers=1, threads=4)
    processes.append(web.start())
    master = web.popen.pid
    (pid,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return Worker(
        int(pid),
        f"{web.url}/api/v1/ingest/{source.slug}/",
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )


def add_destination(source, kind: str) -> None:
    if kind == "mailbox":
        destination = make_connector("mailbox", "Outbox", FIELDS)
    else:
        # Deliveries are only stored: no worker runs.
        destination = make_connector(
            "http_destination", "Hook", FIELDS, url="http://127.0.0.1:9/hooks", batch_size=1000
        )
    make_pipeline(source, destination, name=f"To {kind}")


# Stored records are what grew the process (a body only validated left nothing behind): the
# heap glibc kept after them, and deliveries in reference cycles with their payloads and records.
@pytest.mark.slow
def test_it_levels_off_after_a_few_large_bodies(worker):
    after: list[int] = []
    for round_ in range(REQUESTS):
        response = requests.post(worker.url, data=body(round_), headers=worker.headers, timeout=60)
        assert response.status_code == 202, response.text[:500]
        # The worker gives memory back after it has answered.
        time.sleep(0.3)
        after.append(resident_bytes(worker.pid))

    growth = min(after[-3:]) - after[0]
    mib = [f"{n / 2**20:.0f}" for n in after]
    assert growth <= BOUND, f"RSS after each request (MiB): {', '.join(mib)}"


@pytest.mark.slow
def test_its_peak_ingesting_a_large_body_is_a_bounded_multiple_of_the_body(worker):
    url, headers = worker.url, worker.headers
    # A small body first: what is imported and cached on first use is not the body's.
    small = [{"id": -n, "email": f"w{n}@example.com", "note": NOTE} for n in range(1, 101)]
    assert requests.post(url, data=orjson.dumps(small), headers=headers, timeout=60).ok
    time.sleep(0.3)
    large = orjson.dumps(
        [{"id": n, "email": f"c{n}@example.com", "note": NOTE} for n in range(2 * RECORDS)]
    )
    idle = resident_bytes(worker.pid)
    Path(f"/proc/{worker.pid}/clear_refs").write_text("5")  # the peak starts afresh from here

    response = requests.post(url, data=large, headers=headers, timeout=60)

    assert response.status_code == 202, response.text[:500]
    growth = resident_bytes(worker.pid, "VmHWM") - idle
    assert growth <= PEAK_BOUND * len(large), (
        f"grew {growth / 2**20:.0f} MiB, {growth / len(large):.1f}x a body of "
        f"{len(large) / 2**20:.1f} MiB"
    )
