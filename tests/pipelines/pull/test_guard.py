from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from werkzeug import Request

from connectors.models import Connector
from pipelines.pull.models import PullLock
from pipelines.pull.runs import pull
from pipelines.runs.models import Run
from tests.pipelines.pull.source_helpers import (
    items,
    json_response,
    mailbox_ids,
    source_into_mailbox,
)


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@pytest.mark.django_db(transaction=True)
def test_two_pulls_of_one_source_never_run_at_once(httpserver):
    reading, finish = threading.Event(), threading.Event()

    def slow_page(request: Request):
        reading.set()
        finish.wait(10)
        return json_response(items(2))

    httpserver.expect_request("/items").respond_with_handler(slow_page)
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    runs = {}

    def first_pull():
        try:
            runs["first"] = pull(Connector.objects.get(pk=source.pk), Run.Trigger.MANUAL)
        finally:
            connection.close()

    worker = threading.Thread(target=first_pull)
    worker.start()
    try:
        assert reading.wait(10)
        assert pull(source, Run.Trigger.SCHEDULE) is None
        refused = pull(source, Run.Trigger.MANUAL)
    finally:
        finish.set()
        worker.join(10)
    assert refused.status == "failed"
    assert refused.error.startswith(f"Run {runs['first'].pk} was still reading this source")
    assert runs["first"].status == "succeeded"
    assert len(httpserver.log) == 1
    assert mailbox_ids(box) == [1, 2]
    assert Run.objects.filter(source=source).count() == 2  # the skipped scheduled pull left no run
    assert PullLock.holder(source) is None


def test_a_run_whose_worker_died_is_taken_over_when_its_lease_runs_out(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(items(1))
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    stale = Run.objects.create(source=source, trigger=Run.Trigger.SCHEDULE)
    assert PullLock.acquire(stale, lease_seconds=60)

    assert pull(source).status == "failed"
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        run = pull(source)
    assert run.status == "succeeded"
    stale.refresh_from_db()
    assert stale.status == "failed"
    assert stale.error.startswith("Interrupted")
    assert mailbox_ids(box) == [1]


def test_the_lock_is_released_after_a_failed_run(db, httpserver):
    httpserver.expect_request("/items").respond_with_json({}, status=404)
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    assert pull(source).status == "failed"
    assert PullLock.holder(source) is None
    assert pull(source).status == "failed"
    assert len(httpserver.log) == 2


def test_a_run_queued_before_the_source_was_disabled_reads_nothing(db, httpserver):
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    queued = Run.objects.create(source=source, trigger=Run.Trigger.MANUAL)
    Connector.objects.filter(pk=source.pk).update(enabled=False)
    source.refresh_from_db()
    run = pull(source, Run.Trigger.MANUAL, queued)
    assert run.status == "failed"
    assert "disabled" in run.error
    assert len(httpserver.log) == 0
