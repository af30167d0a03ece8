"""A gunicorn worker ingesting large bodies one after another levels off instead of growing.

Each 5 MB body of 5,000 records goes to a mailbox and to an HTTP destination. Freed memory that
glibc kept, and deliveries kept in reference cycles, grew the process by several MiB per
request, run after run; now its RSS after the first few requests stays within a bound.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
import requests

from tests.crash.processes import WebServer
from tests.helpers import make_connector, make_pipeline

RECORDS = 5000
NOTE = "x" * 900
REQUESTS = 8
# Growth allowed from the first request's RSS to the last one's, over seven more bodies (the
# worker trims once it has grown 8 MiB; before, the process grew 20-30 MiB over them).
BOUND = 12 * 1024 * 1024
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


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


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
def test_it_levels_off_after_a_few_large_bodies(live_env, processes, tmp_path):
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    add_destination(source, "mailbox")
    add_destination(source, "http_destination")
    web = WebServer(live_env, tmp_path / "web.log", workers=1, threads=4)
    processes.append(web.start())
    master = web.popen.pid
    (worker,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    url = f"{web.url}/api/v1/ingest/{source.slug}/"

    after: list[int] = []
    for round_ in range(REQUESTS):
        response = requests.post(
            url,
            data=body(round_),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code == 202, response.text[:500]
        # The worker gives memory back after it has answered.
        time.sleep(0.3)
        after.append(resident_bytes(int(worker)))

    growth = after[-1] - after[0]
    mib = [f"{n / 2**20:.0f}" for n in after]
    assert growth <= BOUND, f"RSS after each request (MiB): {', '.join(mib)}"
