"""The periodic tasks exist after migrate, and the retention purge forgets old runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from pipelines.runs import tasks
from pipelines.runs.models import IdempotencyKey, RecordError, Run, RunStat
from pipelines.runs.tasks import purge_old_runs
from pipelines.schedules import ensure_schedules
from tests.helpers import make_connector, make_pipeline


def test_it_schedules_the_sweeper_and_the_purges(db):
    schedules = {s.name: s for s in Schedule.objects.all()}

    assert schedules["sweep-deliveries"].func == "pipelines.delivery.tasks.sweep_deliveries"
    assert (schedules["sweep-deliveries"].schedule_type, schedules["sweep-deliveries"].minutes) == (
        "I",
        1,
    )
    assert schedules["purge-mailboxes"].func == "mailbox.tasks.purge_acknowledged"
    assert schedules["purge-old-runs"].func == "pipelines.runs.tasks.purge_old_runs"
    assert schedules["purge-old-runs"].schedule_type == Schedule.DAILY


def test_it_repairs_a_changed_schedule_without_duplicating_it(db):
    Schedule.objects.filter(name="sweep-deliveries").update(minutes=30)

    ensure_schedules()
    ensure_schedules()

    assert Schedule.objects.get(name="sweep-deliveries").minutes == 1
    assert Schedule.objects.filter(name="sweep-deliveries").count() == 1


def test_it_purges_runs_and_keys_past_retention(db, settings):
    settings.RUN_RETENTION_DAYS = 30
    settings.IDEMPOTENCY_KEY_HOURS = 48
    source = make_connector("ingest_endpoint", "Orders")
    now = datetime(2026, 3, 2, tzinfo=UTC)
    with time_machine.travel(now - timedelta(days=31), tick=False):
        old = Run.objects.create(
            source=source, trigger=Run.Trigger.INGEST, status=Run.Status.PARTIAL
        )
        RecordError.objects.create(run=old, index=0, record={}, errors=[])
    with time_machine.travel(now - timedelta(days=3), tick=False):
        IdempotencyKey.objects.create(connector=source, key="old", body_hash="x")
    with time_machine.travel(now - timedelta(hours=1), tick=False):
        recent = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)
        IdempotencyKey.objects.create(connector=source, key="new", body_hash="y")

    with time_machine.travel(now, tick=False):
        purged = purge_old_runs()

    assert purged == {"record_errors": 1, "runs": 1, "idempotency_keys": 1}
    assert list(Run.objects.all()) == [recent]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_it_purges_runs_in_batches_of_their_own(db, settings, monkeypatch):
    # A day of webhooks is millions of runs: one delete of them all held SQLite's write lock
    # throughout and loaded every run at once.
    monkeypatch.setattr(tasks, "PURGE_BATCH", 2)
    settings.RUN_RETENTION_DAYS = 30
    source = make_connector("ingest_endpoint", "Orders")
    pipeline = make_pipeline(source, make_connector("mailbox", "Box"))
    now = datetime(2026, 3, 2, tzinfo=UTC)
    with time_machine.travel(now - timedelta(days=31), tick=False):
        for _ in range(5):
            run = Run.objects.create(
                source=source, trigger=Run.Trigger.INGEST, status=Run.Status.SUCCEEDED
            )
            RunStat.objects.create(run=run, pipeline=pipeline, accepted=1)
    with time_machine.travel(now - timedelta(days=1), tick=False):
        recent = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)

    with time_machine.travel(now, tick=False), CaptureQueriesContext(connection) as queries:
        purged = purge_old_runs()

    assert purged["runs"] == 5
    assert list(Run.objects.all()) == [recent]
    assert not RunStat.objects.exists()
    run_deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "pipelines_run"')]
    assert len(run_deletes) == 3  # 2 + 2 + 1
