"""The Customer.io walkthrough: ingest -> pipeline -> HTTP destination, through the public API."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run

CUSTOMERIO_FIELDS = [
    {"name": "id", "type": "string", "required": True},
    {"name": "campaign_id", "type": "string", "required": True},
    {"name": "action_id", "type": "string", "required": True},
    {"name": "identifiers.email", "type": "email", "required": True},
    {"name": "message_data.amount", "type": "number"},
]


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_delivers_an_ingested_order_to_customerio(
    api, httpserver, django_capture_on_commit_callbacks
):
    source = api.post(
        "/api/v1/connectors/",
        {
            "name": "Orders",
            "kind": "ingest_endpoint",
            "schema": {
                "fields": [
                    {"name": "order_id", "type": "integer", "required": True},
                    {"name": "Email", "type": "string", "required": True},
                    {"name": "total", "type": "number"},
                ]
            },
        },
        format="json",
    )
    assert source.status_code == 201, source.json()
    destination = api.post(
        "/api/v1/connectors/",
        {
            "name": "Customer.io transactional",
            "kind": "http_destination",
            "schema": {"fields": CUSTOMERIO_FIELDS},
            "url": httpserver.url_for(
                "/v1/campaigns/{{ campaign_id }}/actions/{{ action_id }}/send"
            ),
            "method": "POST",
            "headers": [{"name": "Authorization", "value": "Bearer 7f3c-secret", "secret": True}],
            "batch_size": 1,
        },
        format="json",
    )
    assert destination.status_code == 201, destination.json()
    pipeline = api.post(
        "/api/v1/pipelines/",
        {
            "name": "Orders to Customer.io",
            "source": source.json()["id"],
            "destination": destination.json()["id"],
            "mappings": [
                {"target": "id", "source": "order_id"},
                {"target": "identifiers.email", "source": "Email", "transforms": ["trim", "lower"]},
                {"target": "message_data.amount", "source": "total"},
                {"target": "campaign_id", "value": "1234"},
                {"target": "action_id", "value": "5678"},
            ],
        },
        format="json",
    )
    assert pipeline.status_code == 201, pipeline.json()
    httpserver.expect_oneshot_request(
        "/v1/campaigns/1234/actions/5678/send", method="POST"
    ).respond_with_json({"delivery_id": "abc"})

    with django_capture_on_commit_callbacks(execute=True):
        accepted = Client().post(
            f"/api/v1/ingest/{source.json()['slug']}/",
            json.dumps({"order_id": 42, "Email": "  Alice@Example.COM ", "total": 19.5}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {source.json()['token']}",
        )

    assert accepted.status_code == 202, accepted.json()
    assert len(httpserver.log) == 1
    request, _ = httpserver.log[0]
    delivery = Delivery.objects.get()
    assert request.headers["Authorization"] == "Bearer 7f3c-secret"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == str(delivery.idempotency_key)
    assert json.loads(request.data) == {
        "id": "42",
        "campaign_id": "1234",
        "action_id": "5678",
        "identifiers": {"email": "alice@example.com"},
        "message_data": {"amount": 19.5},
    }
    assert delivery.status == Delivery.Status.DELIVERED
    run = Run.objects.get(pk=accepted.json()["run"])
    assert (run.accepted, run.delivered, run.failed) == (1, 1, 0)

    listed = api.get(
        f"/api/v1/deliveries/?pipeline={pipeline.json()['id']}&status=delivered"
    ).json()
    attempt = listed["results"][0]["attempt_log"][0]
    assert attempt["status_code"] == 200
    assert attempt["request_headers"]["Authorization"] == "********"
    assert json.loads(attempt["response_excerpt"]) == {"delivery_id": "abc"}
