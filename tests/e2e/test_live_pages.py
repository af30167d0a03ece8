"""Run and delivery pages follow work in flight: they update without a reload while a delivery
is pending, and stop asking once everything is settled."""

from __future__ import annotations

import pytest

from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run, RunStat
from tests.helpers import make_connector, make_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pending_delivery(db):
    source = make_connector("ingest_endpoint", "Orders", [{"name": "id", "type": "integer"}])
    crm = make_connector("http_destination", "CRM", url="https://api.example.com/x", method="POST")
    pipeline = make_pipeline(source, crm, name="Orders to the CRM")
    run = Run.objects.create(
        source=source, trigger="ingest", status="succeeded", received=1, accepted=1
    )
    RunStat.objects.create(run=run, pipeline=pipeline, accepted=1)
    return Delivery.objects.create(
        pipeline=pipeline, destination=crm, run=run, status="pending", records=[{"id": 1}]
    )


def polls(page) -> list[str]:
    """Count the page's own fetches of itself (the poller), from now on."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url) if request.headers.get("x-requested-with") == "fetch" else None
        ),
    )
    return seen


def deliver(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(status="delivered")
    delivery.run.count_delivery(delivery.pipeline_id, delivered=1)


def test_it_updates_the_run_page_until_the_delivery_is_done(signed_in, pending_delivery):
    page = signed_in
    run = pending_delivery.run
    page.goto(f"/runs/{run.pk}/")
    row = page.locator(f'tr[data-pipeline="{pending_delivery.pipeline_id}"]')
    assert "1 pending" in row.inner_text()
    page.evaluate("window.notReloaded = true")
    seen = polls(page)

    deliver(pending_delivery)

    row.get_by_text("1 delivered").wait_for()
    assert row.locator("td.num").nth(2).inner_text() == "1"
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#run-live[data-poll-every]").count() == 0
    settled_at = len(seen)
    page.wait_for_timeout(5_000)
    assert len(seen) == settled_at, "polling stops once the run is settled"


def test_it_updates_the_delivery_page_until_the_delivery_is_done(signed_in, pending_delivery):
    page = signed_in
    page.goto(f"/deliveries/{pending_delivery.pk}/")
    assert page.locator("h1 .badge").inner_text() == "pending"
    page.evaluate("window.notReloaded = true")
    seen = polls(page)

    deliver(pending_delivery)

    page.locator("h1 .badge", has_text="delivered").wait_for()
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("button", name="Replay").wait_for()
    settled_at = len(seen)
    page.wait_for_timeout(5_000)
    assert len(seen) == settled_at, "polling stops once the delivery is final"
