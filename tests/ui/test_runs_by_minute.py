"""A burst of one-event requests reads as one row a minute, and each row opens its runs."""

from datetime import UTC, datetime, timedelta

from django.test import Client

from pipelines.runs.models import Run
from tests.helpers import make_connector

MINUTE = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def burst(source, count: int, at: datetime, **fields) -> None:
    Run.objects.bulk_create(
        Run(
            source=source,
            trigger=Run.Trigger.INGEST,
            status=Run.Status.SUCCEEDED,
            received=1,
            accepted=1,
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


def test_a_bad_time_is_no_filter(alice):
    source = make_connector("ingest_endpoint", "Hooks")
    burst(source, 3, MINUTE)
    client = Client()
    client.force_login(alice)
    assert client.get("/runs/?since=yesterday").context["page"].paginator.count == 3
