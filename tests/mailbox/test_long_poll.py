from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from tests.mailbox.conftest import put


@pytest.mark.django_db(transaction=True)
def test_it_answers_as_soon_as_a_record_arrives(outbox, poll):
    def deliver_later():
        time.sleep(0.5)
        put(outbox, {"order_id": 1, "email": "a@example.com"})
        connection.close()

    writer = threading.Thread(target=deliver_later)
    started = time.monotonic()
    writer.start()
    response = poll(outbox, wait="10")
    elapsed = time.monotonic() - started
    writer.join()

    assert response.status_code == 200
    assert [r["data"]["order_id"] for r in response.json()["records"]] == [1]
    assert 0.4 < elapsed < 2


@pytest.mark.django_db(transaction=True)
def test_it_answers_an_empty_page_when_the_wait_runs_out(outbox, poll):
    started = time.monotonic()
    response = poll(outbox, wait="1")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.json()["records"] == [] and response.json()["has_more"] is False
    assert 1 <= elapsed < 2.5


def test_it_answers_at_once_when_records_wait_already(outbox, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})

    started = time.monotonic()
    response = poll(outbox, wait="30")

    assert time.monotonic() - started < 1
    assert len(response.json()["records"]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_wait_holds_no_transaction_open(outbox, poll):
    # A transaction held during the wait would hide the writer's commit from the poll
    # (snapshot) or block the writer (SQLite): the writer must finish while the poll waits.
    committed_while_waiting = threading.Event()
    results = []

    def wait():
        results.append(poll(outbox, wait="5"))
        connection.close()

    reader = threading.Thread(target=wait)
    reader.start()
    time.sleep(0.5)
    started = time.monotonic()
    put(outbox, {"order_id": 1, "email": "a@example.com"})
    if time.monotonic() - started < 0.5:
        committed_while_waiting.set()
    reader.join()

    assert committed_while_waiting.is_set()
    assert [r["id"] for r in results[0].json()["records"]] == [1]


def test_records_after_the_cursor_only_end_the_wait(outbox, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})
    cursor = poll(outbox).json()["next"]

    started = time.monotonic()
    response = poll(outbox, after=cursor, wait="0.5")

    assert time.monotonic() - started >= 0.5
    assert response.json()["records"] == []
