"""kill -9 of the web server in the middle of an ingest: all of the batch is stored, or none of it.

Each round posts one large batch and kills gunicorn (every process) at a different moment
of the request. The sender then holds a 202 and the whole batch is there, or holds no
answer and the batch is there whole or not at all, never in part. A crash after the
commit but before the answer left is the one case where records exist without a 202: the
sender's retry with the same Idempotency-Key then gets the first answer and stores
nothing twice, which every round checks.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.db import connection

from mailbox.models import MailboxRecord
from pipelines.runs.models import Run
from tests.crash.processes import WebServer
from tests.helpers import make_connector, make_pipeline

RECORDS = 5000
# When to kill, as a share of how long one whole request takes.
MOMENTS = (0.1, 0.4, 0.7, 0.95)
FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "name", "type": "string"},
]


def batch(round_: int) -> list[dict]:
    first = round_ * RECORDS
    return [
        {"id": n, "email": f"c{n}@example.com", "name": f"Customer {n}"}
        for n in range(first, first + RECORDS)
    ]


def send(url: str, token: str, round_: int, outcome: dict) -> None:
    try:
        response = requests.post(
            url,
            json=batch(round_),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"round-{round_}"},
            timeout=60,
        )
        outcome["status"] = response.status_code
        outcome["body"] = response.json() if response.status_code == 202 else response.text
    except requests.RequestException as exc:
        outcome["error"] = exc


def stored(source, box, key: str) -> tuple[int, int]:
    """The runs with this key and the mailbox's records, counted in one statement, so in one
    snapshot. The killed server's last COMMIT may still be landing: PostgreSQL finishes a
    commit it received without its client, and a run counted before it and records counted
    after read as a partial batch (CI: "0 runs, 5000 records") that never existed."""
    runs, records = Run._meta.db_table, MailboxRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {runs} WHERE source_id = %s AND idempotency_key = %s),"
            f" (SELECT COUNT(*) FROM {records} WHERE mailbox_id = %s)",
            [source.pk, key, box.pk],
        )
        return cursor.fetchone()


@pytest.mark.slow
def test_a_killed_web_server_stores_a_batch_whole_or_not_at_all(live_env, processes, tmp_path):
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    box = make_connector("mailbox", "Outbox", FIELDS)
    make_pipeline(source, box)
    url_path = f"/api/v1/ingest/{source.slug}/"

    # One whole request first, to know when "the middle" is on this machine.
    web = WebServer(live_env, tmp_path / "web-0.log", workers=1, threads=2)
    processes.append(web.start())
    began = time.monotonic()
    warmup: dict = {}
    send(web.url + url_path, token, 0, warmup)
    duration = time.monotonic() - began
    assert warmup.get("status") == 202, warmup
    web.kill()

    interrupted = 0
    for round_, moment in enumerate(MOMENTS, start=1):
        web = WebServer(live_env, tmp_path / f"web-{round_}.log", workers=1, threads=2)
        processes.append(web.start())
        before = MailboxRecord.objects.filter(mailbox=box).count()
        outcome: dict = {}
        sender = threading.Thread(target=send, args=(web.url + url_path, token, round_, outcome))
        sender.start()
        time.sleep(duration * moment)
        web.kill()
        sender.join(60)

        run_count, records = stored(source, box, f"round-{round_}")
        added = records - before
        # Read after the counts: a commit that landed meanwhile must not be seen here only.
        runs = Run.objects.filter(source=source, idempotency_key=f"round-{round_}")
        runs = list(runs) if run_count else []
        if outcome.get("status") == 202:
            assert len(runs) == 1 and runs[0].pk == outcome["body"]["run"]
            assert added == RECORDS, (
                f"202 but {added} of {RECORDS} records stored (kill at {moment})"
            )
        else:
            interrupted += 1
            assert "error" in outcome, outcome  # no answer at all, never a 5xx
            assert (len(runs), added) in ((0, 0), (1, RECORDS)), (
                f"partial batch: {len(runs)} runs, {added} records (kill at {moment})"
            )
            assert all(run.received == RECORDS and run.accepted == RECORDS for run in runs)

        # The sender retries with the same key on a server that came back.
        web = WebServer(live_env, tmp_path / f"web-{round_}-retry.log", workers=1, threads=2)
        processes.append(web.start())
        retry: dict = {}
        send(web.url + url_path, token, round_, retry)
        web.kill()
        assert retry.get("status") == 202, retry
        assert Run.objects.filter(source=source, idempotency_key=f"round-{round_}").count() == 1
        assert MailboxRecord.objects.filter(mailbox=box).count() - before == RECORDS

    assert interrupted, "no kill landed during a request: the test proved nothing"
    assert MailboxRecord.objects.filter(mailbox=box).count() == RECORDS * (len(MOMENTS) + 1)
