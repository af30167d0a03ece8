"""A 400 fails at once; replay sends it again with the same idempotency key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from pipelines.delivery.replay import replay
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def given_up(delivery: Delivery, status: str, attempts: int) -> Delivery:
    """A delivery left failed or dead by its last attempt, counted as failed by its run."""
    Delivery.objects.filter(pk=delivery.pk).update(status=status, attempts=attempts)
    delivery.run.count_delivery(delivery.pipeline_id, failed=len(delivery.records))
    delivery.refresh_from_db()
    return delivery


def test_it_fails_a_400_at_once_and_replays_it(api, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_ordered_request("/hooks").respond_with_json(
        {"error": "bad email"}, status=400
    )
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED
    delivery.run.refresh_from_db()
    assert delivery.run.failed == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/deliveries/{delivery.pk}/replay/")

    assert response.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 2
    keys = [request.headers["Idempotency-Key"] for request, _ in httpserver.log]
    assert keys == [str(delivery.idempotency_key)] * 2
    delivery.run.refresh_from_db()
    assert (delivery.run.delivered, delivery.run.failed) == (1, 0)


def test_it_refuses_to_replay_a_pending_delivery(api, httpserver):
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])

    response = api.post(f"/api/v1/deliveries/{delivery.pk}/replay/")

    assert response.status_code == 409
    assert len(httpserver.log) == 0


def test_it_needs_staff_to_replay(db, anonymous, httpserver):
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.DEAD)

    assert anonymous.post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code in (401, 403)
    assert anonymous.post(
        "/api/v1/deliveries/replay-dead/", {"since": "2026-01-01T00:00:00Z"}
    ).status_code in (
        401,
        403,
    )


def test_it_fails_a_redirect(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data(
        "", status=301, headers={"Location": "/elsewhere"}
    )
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED
    delivery.refresh_from_db()
    assert "redirect" in delivery.last_error
    assert len(httpserver.log) == 1


def test_it_replays_the_dead_since_a_time(api, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        old = given_up(make_delivery(destination, [{"id": 1}]), Delivery.Status.DEAD, attempts=8)
    with time_machine.travel(datetime(2026, 3, 3, tzinfo=UTC), tick=False):
        recent = given_up(make_delivery(destination, [{"id": 2}]), Delivery.Status.DEAD, attempts=8)
        failed = given_up(
            make_delivery(destination, [{"id": 3}]), Delivery.Status.FAILED, attempts=1
        )

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/deliveries/replay-dead/",
            {"since": (datetime(2026, 3, 2, tzinfo=UTC)).isoformat()},
            format="json",
        )

    assert response.status_code == 202
    assert response.json() == {"replayed": 1}
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "dead", recent.pk: "delivered", failed.pk: "failed"}
    recent.refresh_from_db()
    assert recent.attempts == 9
    assert recent.attempt_log.get().number == 9


def test_it_gives_a_replayed_delivery_a_fresh_round_of_attempts(
    db, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks").respond_with_data("", status=503)
    destination = make_destination(httpserver.url_for("/hooks"), max_attempts=2)
    delivery = given_up(make_delivery(destination, [{"id": 1}]), Delivery.Status.DEAD, attempts=2)

    with django_capture_on_commit_callbacks(execute=True):
        assert replay(delivery)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at > delivery.updated_at - timedelta(seconds=1)
    assert delivery.attempts == 3
