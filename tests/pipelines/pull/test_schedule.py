from __future__ import annotations

import ast
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_q.models import Schedule

from pipelines.pull import tasks
from pipelines.pull.schedules import sync_all_schedules
from pipelines.runs.models import Run
from tests.helpers import make_connector
from tests.pipelines.pull.source_helpers import items, mailbox_ids, make_source, source_into_mailbox


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def schedule_of(connector) -> Schedule:
    return Schedule.objects.get(name=f"pull-source-{connector.pk}")


def test_a_source_with_a_schedule_gets_a_schedule_row(db):
    with time_machine.travel("2024-05-06 07:00:00+00:00", tick=False):
        source = make_source("https://api.example.com/items", schedule={"every_minutes": 15})
    row = schedule_of(source)
    assert (row.func, row.schedule_type, row.minutes, row.repeats) == (
        "pipelines.pull.tasks.pull_source",
        Schedule.MINUTES,
        15,
        -1,
    )
    assert ast.literal_eval(row.args) == (source.pk, "schedule")
    assert row.next_run == timezone.now().replace(
        2024, 5, 6, 7, 0, 0, 0
    )  # the first pull right away


def test_changing_the_schedule_updates_the_row(db):
    source = make_source("https://api.example.com/items", schedule={"every_minutes": 15})
    row_id = schedule_of(source).pk
    source.schedule = {"cron": "30 2 * * *"}
    with time_machine.travel("2024-05-06 07:00:00+00:00", tick=False):
        source.save()
    row = schedule_of(source)
    assert row.pk == row_id
    assert (row.schedule_type, row.cron, row.minutes) == (Schedule.CRON, "30 2 * * *", None)
    assert row.next_run > timezone.now().replace(2024, 5, 6, 7, 0, 0, 0)
    assert row.next_run.minute == 30

    source.schedule = {"every_minutes": 60}
    with time_machine.travel("2024-05-06 08:00:00+00:00", tick=False):
        source.save()
    row = schedule_of(source)
    assert (row.schedule_type, row.minutes, row.cron) == (Schedule.MINUTES, 60, None)
    assert row.next_run == timezone.now().replace(2024, 5, 6, 9, 0, 0, 0)


def test_an_unchanged_save_leaves_the_next_run_alone(db):
    source = make_source("https://api.example.com/items", schedule={"every_minutes": 15})
    before = schedule_of(source).next_run
    source.name = "Renamed"
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        source.save()
    assert schedule_of(source).next_run == before


def test_removing_the_schedule_disabling_or_deleting_the_source_removes_the_row(db):
    unscheduled = make_source("https://api.example.com/a", schedule={"every_minutes": 5})
    unscheduled.schedule = {}
    unscheduled.save()
    disabled = make_source("https://api.example.com/b", schedule={"every_minutes": 5})
    disabled.enabled = False
    disabled.save()
    deleted = make_source("https://api.example.com/c", schedule={"every_minutes": 5})
    deleted_id = deleted.pk
    deleted.delete()
    assert not Schedule.objects.filter(
        name__in=[f"pull-source-{c}" for c in (unscheduled.pk, disabled.pk, deleted_id)]
    ).exists()

    disabled.enabled = True
    disabled.save()
    assert schedule_of(disabled).minutes == 5


def test_other_kinds_never_get_a_schedule(db):
    make_connector("mailbox", "Box", schedule={"every_minutes": 5})
    assert not Schedule.objects.filter(func="pipelines.pull.tasks.pull_source").exists()


def test_sync_all_schedules_repairs_missing_and_stray_rows(db):
    source = make_source("https://api.example.com/items", schedule={"every_minutes": 10})
    Schedule.objects.filter(name__startswith="pull-source-").delete()
    Schedule.objects.create(
        name="pull-source-999", func="pipelines.pull.tasks.pull_source", args="999, 'schedule'"
    )
    sync_all_schedules()
    names = Schedule.objects.filter(name__startswith="pull-source-").values_list("name", flat=True)
    assert list(names) == [f"pull-source-{source.pk}"]


def test_the_scheduled_task_pulls_the_source(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(items(2))
    source, box = source_into_mailbox(httpserver.url_for("/items"), schedule={"every_minutes": 5})
    row = schedule_of(source)
    getattr(tasks, row.func.rsplit(".", 1)[1])(*ast.literal_eval(row.args))
    run = Run.objects.get(source=source)
    assert (run.trigger, run.status) == ("schedule", "succeeded")
    assert mailbox_ids(box) == [1, 2]


def test_a_scheduled_pull_waits_for_a_pipeline(db, httpserver):
    httpserver.expect_request("/items").respond_with_json(items(2))
    source = make_source(httpserver.url_for("/items"), schedule={"every_minutes": 5})
    assert tasks.pull_source(source.pk, "schedule") is None
    assert not Run.objects.exists()
    assert len(httpserver.log) == 0
