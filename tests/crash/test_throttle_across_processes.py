"""A connector's rate limit is one limit for the whole server, not one per gunicorn process."""

from __future__ import annotations

import requests

from tests.crash.processes import WebServer
from tests.helpers import make_connector

FIELDS = [{"name": "id", "type": "integer", "required": True}]


def test_the_limit_holds_across_processes_and_restarts(live_env, processes, tmp_path):
    source = make_connector(
        "ingest_endpoint", "Orders", FIELDS, throttle_rate="5/hour"
    )  # no refill while servers restart
    token = source.rotate_token()
    url_path = f"/api/v1/ingest/{source.slug}/"
    statuses = []
    # New processes each time: a count kept in a process's memory would start again at zero.
    for round_ in range(3):
        web = WebServer(live_env, tmp_path / f"web-{round_}.log", workers=2, threads=1)
        processes.append(web.start())
        for n in range(3):
            response = requests.post(
                web.url + url_path,
                json={"id": n},
                headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                timeout=30,
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) > 0
        web.kill()
    assert statuses == [202] * 5 + [429] * 4
