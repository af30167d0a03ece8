"""A run's page counts the source once and each pipeline apart, so two pipelines' deliveries are
never read as one number next to the records received."""

from __future__ import annotations

import re

import pytest

from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run, RunStat
from tests.helpers import make_connector, make_pipeline


@pytest.fixture
def two_pipelines_run(orders, orders_to_outbox):
    """3 records received, 2 accepted, each taken by a mailbox pipeline and an HTTP pipeline."""
    api = make_connector("http_destination", "CRM", url="https://api.example.com/x", method="POST")
    to_api = make_pipeline(orders, api, name="Orders to the CRM")
    run = Run.objects.create(
        source=orders, trigger="ingest", status="partial", received=3, accepted=2, rejected=1
    )
    RunStat.objects.create(run=run, pipeline=orders_to_outbox, accepted=2, delivered=2)
    RunStat.objects.create(run=run, pipeline=to_api, accepted=2, delivered=2)
    run.delivered = 4
    run.save()
    for _ in range(2):
        Delivery.objects.create(
            pipeline=to_api, destination=api, run=run, status="delivered", records=[{"id": 1}]
        )
    return run, to_api


def row_text(html: str, pipeline_id: int) -> str:
    row = re.search(rf'<tr data-pipeline="{pipeline_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row for pipeline {pipeline_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1))).strip()


def test_it_counts_the_source_once_and_each_pipeline_apart(staff, two_pipelines_run):
    run, to_api = two_pipelines_run
    html = staff.get(f"/runs/{run.pk}/").content.decode()

    assert '<div class="l">delivered</div>' not in html
    assert '3</div><div class="l">records received' in html
    assert row_text(html, to_api.pk) == (
        "Orders to the CRM → CRM (HTTP destination) 2 0 2 0 2 delivered"
    )
    mailbox_row = row_text(html, run.stats.exclude(pipeline=to_api).get().pipeline_id)
    assert mailbox_row.endswith("2 0 2 0 stored in the mailbox at once")
    assert f"?run={run.pk}&amp;pipeline={to_api.pk}&amp;status=delivered" in html
    totals = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert "All 2 pipelines added up" in totals and "4" in totals


def test_it_keeps_polling_while_a_delivery_is_pending(staff, two_pipelines_run):
    run, _ = two_pipelines_run
    Delivery.objects.filter(run=run).update(status="pending")

    fragment = staff.get(f"/runs/{run.pk}/", headers={"X-Requested-With": "fetch"})

    html = fragment.content.decode()
    assert 'id="run-live" data-poll-every="2000"' in html
    assert "<html" not in html
    assert "1 pending" not in html and "2 pending" in html


def test_it_stops_polling_once_the_run_is_settled(staff, two_pipelines_run):
    run, _ = two_pipelines_run
    html = staff.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="run-live"' in html
    assert "data-poll-every" not in html
