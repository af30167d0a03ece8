"""A page of a pull costs few waits on the database: on PostgreSQL each round trip is a wait that
ends with taking the GIL back from the threads reading and preparing the next pages."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager

import pytest
from django.db import connection
from werkzeug import Request

from mailbox.models import MailboxRecord
from pipelines.pull.runs import RunReader, pull
from tests.pipelines.pull.source_helpers import json_response, source_into_mailbox

PER_PAGE = 100


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@contextmanager
def counting(counts: list):
    """Round trips to PostgreSQL (from libpq's trace of the protocol: each time the client sends
    after having received), or statements run on SQLite (each a call into its library)."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        pgconn = connection.connection.pgconn
        with tempfile.TemporaryFile("w+") as trace:
            pgconn.trace(trace.fileno())
            try:
                yield
            finally:
                pgconn.untrace()
            trace.seek(0)
            directions = [line.split("\t")[1] for line in trace if line.count("\t") >= 2]
        counts.append(
            sum(
                1
                for i, d in enumerate(directions)
                if d == "F" and (i == 0 or directions[i - 1] == "B")
            )
        )
        return
    statements = []
    with connection.execute_wrapper(
        lambda execute, *args: statements.append(args[0]) or execute(*args)
    ):
        yield
    counts.append(len(statements))


@pytest.mark.django_db(transaction=True)
def test_a_page_into_a_mailbox_takes_five_round_trips_on_postgresql(httpserver, monkeypatch):
    def pages(request: Request):
        page = int(request.args["page"])
        first = (page - 1) * PER_PAGE + 1
        return json_response(
            [{"id": n, "name": f"item {n}"} for n in range(first, first + PER_PAGE)]
            if page <= 3
            else []
        )

    httpserver.expect_request("/items").respond_with_handler(pages)
    source, box = source_into_mailbox(
        httpserver.url_for("/items"),
        pagination={"type": "page", "size": PER_PAGE, "size_param": "per_page"},
    )
    counts: list[int] = []
    write = RunReader.write

    def counted_write(self, page):
        # In whichever thread writes the page, on that thread's connection.
        with counting(counts):
            write(self, page)

    monkeypatch.setattr(RunReader, "write", counted_write)
    run = pull(source)

    assert (run.status, run.pages, run.delivered) == ("succeeded", 3, 300)
    assert MailboxRecord.objects.filter(mailbox=box).count() == 300
    # PostgreSQL: BEGIN, the run's counts, the pipeline's counts, the sequence numbers and the
    # rows in one statement, COMMIT. SQLite: BEGIN, the same counts, then the sequence numbers
    # and the rows (its COMMIT is no statement). The first page also creates the pipeline's
    # counts and the mailbox's sequence row.
    assert counts[1:] == {"postgresql": [5, 5], "sqlite": [5, 5]}[connection.vendor]
