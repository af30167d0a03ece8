"""Deliveries: filtered lists, each with its attempts, replayed one by one or all dead at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.delivery.models import Delivery, DeliveryAttempt
from tests.helpers import make_connector, make_pipeline


@pytest.fixture
def api_pipeline(orders):
    destination = make_connector(
        "http_destination", "API", url="https://api.example.com/x", method="POST"
    )
    return make_pipeline(orders, destination, name="To API")


def delivery(pipeline, status: str, **kw) -> Delivery:
    return Delivery.objects.create(
        pipeline=pipeline,
        destination=pipeline.destination,
        status=status,
        records=[{"id": 1}],
        **kw,
    )


def test_it_filters_deliveries_by_status(staff, api_pipeline):
    dead = delivery(api_pipeline, "dead")
    delivery(api_pipeline, "delivered")
    response = staff.get("/deliveries/?status=dead")
    assert list(response.context["deliveries"]) == [dead]
    counts = {value: n for value, _, n in response.context["statuses"]}
    assert (counts["dead"], counts["delivered"], counts["pending"]) == (1, 1, 0)


def test_it_shows_every_attempt(staff, api_pipeline):
    dead = delivery(api_pipeline, "dead", attempts=1, last_status_code=500, last_error="HTTP 500")
    DeliveryAttempt.objects.create(
        delivery=dead,
        number=1,
        duration_ms=87,
        status_code=500,
        error="HTTP 500",
        request_method="POST",
        request_url="https://api.example.com/x",
        request_headers={"Authorization": "********"},
        response_excerpt="upstream exploded",
    )
    html = staff.get(f"/deliveries/{dead.pk}/").content.decode()
    assert "upstream exploded" in html
    assert "87 ms" in html
    assert "HTTP 500" in html


def test_a_retrying_delivery_says_its_answer_once_and_when_it_tries_again(staff, api_pipeline):
    retrying = delivery(
        api_pipeline,
        "pending",
        attempts=1,
        last_status_code=500,
        last_error="HTTP 500",
        next_attempt_at=timezone.now() + timedelta(seconds=20),
    )
    DeliveryAttempt.objects.create(
        delivery=retrying, number=1, status_code=500, error="HTTP 500", request_method="POST"
    )
    page = staff.get(f"/deliveries/{retrying.pk}/").content.decode()
    assert "Next attempt within a minute." in page  # not "0 minutes from now"
    # The attempt's status badge says "HTTP 500"; its error adds nothing to it.
    [beside_the_badge] = re.findall(r'HTTP 500</span> <span class="small">(.*?)</span>', page)
    assert beside_the_badge == ""
    listed = staff.get("/deliveries/").content.decode()
    assert listed.count("HTTP 500") == 1

    retrying.next_attempt_at = timezone.now() + timedelta(minutes=5, seconds=20)
    retrying.save()
    assert "Next attempt in 5" in staff.get(f"/deliveries/{retrying.pk}/").content.decode()


def test_a_redirect_keeps_the_reason_beside_its_status(staff, api_pipeline):
    error = "HTTP 302 (a redirect: redirects are not followed; use the final URL)"
    delivery(api_pipeline, "dead", attempts=1, last_status_code=302, last_error=error)
    listed = staff.get("/deliveries/").content.decode()
    assert "HTTP 302" in listed
    assert "(a redirect: redirects are not followed; use the final URL)" in listed


def test_it_replays_one_delivery(staff, api_pipeline):
    dead = delivery(api_pipeline, "dead", attempts=8)
    response = staff.post(f"/deliveries/{dead.pk}/replay/")
    dead.refresh_from_db()
    assert response.status_code == 302
    assert dead.status == "pending"
    assert dead.attempts_before_replay == 8


def test_it_does_not_replay_a_delivery_on_its_way(staff, api_pipeline):
    pending = delivery(api_pipeline, "pending")
    response = staff.post(f"/deliveries/{pending.pk}/replay/", follow=True)
    assert "already on its way" in response.content.decode()


def test_it_replays_all_dead_deliveries_of_a_pipeline(staff, api_pipeline, orders):
    other = make_pipeline(orders, api_pipeline.destination, name="Other")
    mine = delivery(api_pipeline, "dead")
    theirs = delivery(other, "dead")
    staff.post("/deliveries/replay-dead/", {"pipeline": api_pipeline.pk})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("pending", "dead")
