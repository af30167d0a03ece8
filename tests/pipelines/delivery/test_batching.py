"""batch_size N: one request per N records, the body a JSON array (or the body template)."""

from __future__ import annotations

import json

import pytest

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from pipelines.runs.batches import prepare
from pipelines.runs.models import Run
from tests.helpers import make_connector, make_pipeline
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_sends_seven_records_in_three_requests(
    db, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/bulk").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/bulk"), batch_size=3)
    source = make_connector("ingest_endpoint", "Orders", [{"name": "id", "type": "integer"}])
    pipeline = make_pipeline(source, destination)
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)

    with django_capture_on_commit_callbacks(execute=True):
        prepare(pipeline, [{"id": n} for n in range(1, 8)]).store(run)

    bodies = [json.loads(request.data) for request, _ in httpserver.log]
    assert bodies == [
        [{"id": 1}, {"id": 2}, {"id": 3}],
        [{"id": 4}, {"id": 5}, {"id": 6}],
        [{"id": 7}],
    ]
    keys = {request.headers["Idempotency-Key"] for request, _ in httpserver.log}
    assert keys == {str(key) for key in Delivery.objects.values_list("idempotency_key", flat=True)}
    run.refresh_from_db()
    assert run.delivered == 7


def test_it_renders_the_body_template_over_records(db, httpserver):
    httpserver.expect_request("/bulk").respond_with_data("", status=200)
    destination = make_destination(
        httpserver.url_for("/bulk"),
        batch_size=10,
        body_template='{"count": {{ records | length }}, "ids": {{ records | map(attribute="id") | list | tojson }}}',
    )
    delivery = make_delivery(destination, [{"id": 1}, {"id": 2}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    assert json.loads(httpserver.log[0][0].data) == {"count": 2, "ids": [1, 2]}


def test_it_fails_a_batch_whose_records_need_different_urls(db, httpserver):
    destination = make_destination(httpserver.url_for("/lists/{{ list }}"), batch_size=10)
    delivery = make_delivery(destination, [{"id": 1, "list": "a"}, {"id": 2, "list": "b"}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    delivery.refresh_from_db()
    assert "differs between the records of one batch" in delivery.last_error
    assert len(httpserver.log) == 0
