"""A burst of one-event requests reads as one row a minute, and each row opens its runs."""

import html
import re
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test import Client

from pipelines.runs.models import Run
from pipelines.runs.tasks import purge_old_runs
from tests.helpers import make_connector

MINUTE = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def burst(source, count: int, at: datetime, **fields) -> None:
    fields = {"status": Run.Status.SUCCEEDED, "received": 1, "accepted": 1, **fields}
    Run.objects.bulk_create(
        Run(
            source=source,
            trigger=Run.Trigger.INGEST,
            started_at=at + timedelta(seconds=i % 60),
            **fields,
        )
        for i in range(count)
    )


def test_it_adds_runs_up_per_minute_and_links_to_each_minutes_runs(alice):
    source = make_connector("ingest_endpoint", "Hooks")
    burst(source, 300, MINUTE)
    burst(source, 200, MINUTE + timedelta(minutes=1))
    Run.objects.create(
        source=source,
        trigger=Run.Trigger.INGEST,
        status=Run.Status.FAILED,
        received=1,
        rejected=1,
        started_at=MINUTE + timedelta(seconds=30),
    )
    client = Client()
    client.force_login(alice)

    page = client.get("/runs/?by=minute")
    rows = list(page.context["runs"])
    assert [(r["minute"], r["runs"], r["with_errors"], r["rejected"]) for r in rows] == [
        (MINUTE + timedelta(minutes=1), 200, 0, 0),
        (MINUTE, 301, 1, 1),
    ]
    link = f"?source={source.pk}&amp;since=2026-11-30T05%3A00%3A00%2B00%3A00"
    assert link in page.content.decode()

    minute = client.get(
        "/runs/",
        {
            "source": source.pk,
            "since": MINUTE.isoformat(),
            "until": (MINUTE + timedelta(minutes=1)).isoformat(),
        },
    )
    assert minute.context["page"].paginator.count == 301
    failed = client.get(
        "/runs/",
        {
            "source": source.pk,
            "since": MINUTE.isoformat(),
            "until": (MINUTE + timedelta(minutes=1)).isoformat(),
            "status": "failed",
        },
    )
    [run] = failed.context["runs"]
    assert run.rejected == 1  # the request's own detail is one click away


def test_the_with_errors_link_opens_every_run_it_counts(alice):
    """A partially accepted run (one of two records rejected) counts "with errors" as a failed
    one does, and the count's link lists both."""
    source = make_connector("ingest_endpoint", "Hooks")
    burst(source, 5, MINUTE)
    for status, rejected in ((Run.Status.FAILED, 1), (Run.Status.PARTIAL, 1)):
        Run.objects.create(
            source=source,
            trigger=Run.Trigger.INGEST,
            status=status,
            received=2,
            accepted=2 - rejected,
            rejected=rejected,
            started_at=MINUTE + timedelta(seconds=10),
        )
    client = Client()
    client.force_login(alice)

    page = client.get("/runs/?by=minute")
    [row] = page.context["runs"]
    assert row["with_errors"] == 2
    [link] = re.findall(r'<a href="([^"]*)"[^>]*>2</a>', page.content.decode())
    listed = client.get(html.unescape(link))
    assert sorted(run.status for run in listed.context["runs"]) == ["failed", "partial"]
    assert 'value="with_errors" selected' in listed.content.decode()


def test_a_bad_time_is_no_filter(alice):
    source = make_connector("ingest_endpoint", "Hooks")
    burst(source, 3, MINUTE)
    client = Client()
    client.force_login(alice)
    assert client.get("/runs/?since=yesterday").context["page"].paginator.count == 3


def test_it_pages_by_windows_of_an_hour_without_skipping_a_minute(alice):
    # Three hours of one run a minute: the first page adds up the newest hour only (grouping
    # every run ever kept read the whole table), and Older/Newer walk the rest.
    source = make_connector("ingest_endpoint", "Hooks")
    start = MINUTE
    for minute in range(180):
        burst(source, 1, start + timedelta(minutes=minute, seconds=minute % 60))
    client = Client()
    client.force_login(alice)

    minutes, before, pages = [], None, []
    while True:
        page = client.get("/runs/", {"by": "minute", **({"before": before} if before else {})})
        pages.append(page)
        minutes += [row["minute"] for row in page.context["runs"]]
        if page.context["older"] is None:
            break
        before = page.context["older"].isoformat()
        assert f"before={before.replace(':', '%3A').replace('+', '%2B')}" in page.content.decode()

    assert [len(page.context["runs"]) for page in pages] == [60, 60, 60]
    assert minutes == [start + timedelta(minutes=m) for m in reversed(range(180))]
    assert pages[0].context["newer"] is None
    # Newer from the second page comes back to the newest hour.
    newer = client.get("/runs/", {"by": "minute", "before": pages[1].context["newer"].isoformat()})
    assert [row["minute"] for row in newer.context["runs"]] == minutes[:60]


def test_a_minute_of_a_sparse_source_is_found_past_empty_hours(alice):
    source = make_connector("ingest_endpoint", "Hooks")
    burst(source, 2, MINUTE)
    burst(source, 3, MINUTE + timedelta(days=2))
    client = Client()
    client.force_login(alice)

    first = client.get("/runs/?by=minute")
    assert [(r["minute"], r["runs"]) for r in first.context["runs"]] == [
        (MINUTE + timedelta(days=2), 3)
    ]
    older = client.get("/runs/", {"by": "minute", "before": first.context["older"].isoformat()})
    assert [(r["minute"], r["runs"]) for r in older.context["runs"]] == [(MINUTE, 2)]
    assert older.context["older"] is None


def test_the_daily_purge_leaves_sqlite_planner_statistics_of_the_runs(db):
    source = make_connector("ingest_endpoint", "Hooks")
    burst(source, 20, MINUTE)

    purge_old_runs()

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            assert "pipelines_run" in {table for (table,) in cursor.fetchall()}
