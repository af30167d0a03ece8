"""A gunicorn worker ingesting large bodies one after another levels off instead of growing.

Each 5 MB body of 5,000 records is parsed into thousands of ~1 KB strings and dicts. glibc kept
the freed memory (a few MiB more after each request, run after run) until the worker trimmed it;
now the process's RSS after the first few requests stays within a bound.
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
# Growth allowed from the second request's RSS to the last one's, over six more bodies.
BOUND = 8 * 1024 * 1024
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


@pytest.mark.slow
def test_it_levels_off_after_a_few_large_bodies(live_env, processes, tmp_path):
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    # Stored records are what grew the process: a body only validated left nothing behind.
    make_pipeline(source, make_connector("mailbox", "Outbox", FIELDS))
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

    growth = after[-1] - after[1]
    mib = [f"{n / 2**20:.0f}" for n in after]
    assert growth <= BOUND, f"RSS after each request (MiB): {', '.join(mib)}"
