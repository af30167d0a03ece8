"""Idempotency-Key: a UUID kept with the delivery, never the row id (CONTRACT v2, "Outbound
idempotency"): unique across installations and database resets, the same on every attempt and
replay of one delivery."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from standardwebhooks.webhooks import Webhook

from connectors.signing import generate_secret
from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery, DeliveryPayload
from pipelines.delivery.replay import replay
from tests.helpers import make_connector, make_pipeline
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def keys_received(httpserver) -> list[str]:
    return [request.headers["Idempotency-Key"] for request, _ in httpserver.log]


def test_it_gives_each_delivery_its_own_uuid(db, httpserver):
    destination = make_destination(httpserver.url_for("/hooks"))
    first = make_delivery(destination, [{"id": 1}])
    second = make_delivery(destination, [{"id": 2}])
    ids = Delivery.create_batches(
        first.pipeline, first.run, [(1, DeliveryPayload.encode([{"id": n}])) for n in range(3)]
    )

    created = Delivery.objects.filter(pk__in=ids)
    keys = [d.idempotency_key for d in (first, second, *created)]
    assert all(isinstance(key, uuid.UUID) and key.version == 4 for key in keys)
    assert len(set(keys)) == 5
    assert str(first.idempotency_key) != str(first.pk)


def test_it_sends_the_stored_key_on_every_attempt_and_replay(
    db, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=503)
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=200)
    httpserver.expect_ordered_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])
    stored = delivery.idempotency_key

    assert deliver(delivery.pk) == Delivery.Status.PENDING
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert deliver(delivery.pk) == Delivery.Status.DELIVERED
    delivery.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert replay(delivery)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.idempotency_key == stored
    assert keys_received(httpserver) == [str(stored)] * 3
    assert uuid.UUID(keys_received(httpserver)[0]) == stored
    logged = delivery.attempt_log.values_list("request_headers", flat=True)
    assert [headers["Idempotency-Key"] for headers in logged] == [str(stored)] * 3


def test_it_signs_with_the_same_key_as_webhook_id(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    secret = generate_secret()
    destination = make_destination(httpserver.url_for("/hooks"), signing_secret=secret)
    delivery = make_delivery(destination, [{"id": 7}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    request, _ = httpserver.log[0]
    headers = dict(request.headers)
    assert headers["Webhook-Id"] == headers["Idempotency-Key"] == str(delivery.idempotency_key)
    assert uuid.UUID(headers["Webhook-Id"]).version == 4
    assert Webhook(secret).verify(request.get_data(), headers) == {"id": 7}


def test_it_shows_the_key_in_the_api_and_on_the_delivery_page(api, client, alice, httpserver):
    destination = make_destination(httpserver.url_for("/hooks"))
    delivery = make_delivery(destination, [{"id": 1}])

    listed = api.get("/api/v1/deliveries/").json()["results"][0]
    detail = api.get(f"/api/v1/deliveries/{delivery.pk}/").json()
    client.force_login(alice)
    page = client.get(f"/deliveries/{delivery.pk}/").content.decode()

    assert listed["idempotency_key"] == detail["idempotency_key"] == str(delivery.idempotency_key)
    assert str(delivery.idempotency_key) in page


@pytest.mark.django_db(transaction=True)
def test_it_gives_existing_deliveries_distinct_keys_when_migrating(httpserver):
    before = [("pipelines", "0009_verification_failures")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    OldDelivery = executor.loader.project_state(before).apps.get_model("pipelines", "Delivery")
    destination = make_destination(httpserver.url_for("/hooks"))
    pipeline = make_pipeline(make_connector("ingest_endpoint", "Orders"), destination)
    for _ in range(3):
        OldDelivery.objects.create(pipeline_id=pipeline.pk, destination_id=destination.pk)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    keys = list(Delivery.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == 3
    assert len(set(keys)) == 3
    assert None not in keys
