"""`/metrics`: the records counted where they flow, and the queue measured when scraped."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.test import Client
from django_q.brokers import get_broker
from django_q.conf import Conf
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import make_connector, make_pipeline

FIELDS = [{"name": "id", "type": "integer", "required": True}, {"name": "email", "type": "email"}]


def scrape(**headers) -> dict[tuple, float]:
    response = Client().get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def ingest(source, records) -> dict:
    response = Client().post(
        f"/api/v1/ingest/{source.slug}/",
        records,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {source.token}",
    )
    assert response.status_code == 202, response.content
    return response.json()


@pytest.fixture
def source(db):
    connector = make_connector("ingest_endpoint", "Orders", FIELDS)
    connector.token = connector.rotate_token()
    return connector


def test_it_counts_records_received_accepted_rejected_and_delivered_to_a_mailbox(
    source, django_capture_on_commit_callbacks
):
    make_pipeline(source, make_connector("mailbox", "Outbox", FIELDS))
    before = scrape()

    # Counted when the accepting transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        ingest(source, [{"id": 1}, {"id": 2, "email": "not-an-email"}, {"id": 3}])

    after = scrape()
    for name, delta in [
        ("superconnector_records_received_total", 3),
        ("superconnector_records_accepted_total", 2),
        ("superconnector_records_rejected_total", 1),
    ]:
        assert value(after, name, trigger="ingest") - value(before, name, trigger="ingest") == delta
    delivered = "superconnector_records_delivered_total"
    assert value(after, delivered, kind="mailbox") - value(before, delivered, kind="mailbox") == 2


def test_it_counts_http_deliveries_their_attempts_and_latency(
    source, httpserver, settings, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/hooks").respond_with_data("ok")
    destination = make_connector(
        "http_destination", "Hooks", FIELDS, url=httpserver.url_for("/hooks"), method="POST"
    )
    make_pipeline(source, destination)
    before = scrape()

    with django_capture_on_commit_callbacks(execute=True):
        ingest(source, [{"id": 1}, {"id": 2}])

    after = scrape()
    assert len(httpserver.log) == 2

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("superconnector_records_delivered_total", kind="http_destination") == 2
    assert delta("superconnector_delivery_attempts_total", status="delivered") == 2
    assert delta("superconnector_delivery_latency_seconds_count") == 2
    assert delta("superconnector_delivery_attempt_seconds_count") == 2
    assert value(after, "superconnector_deliveries_waiting", status="pending") == 0


@pytest.fixture
def own_queue(monkeypatch):
    """A broker queue of this test's own (with Redis, other test processes share the server)."""
    monkeypatch.setattr(Conf, "CLUSTER_NAME", f"metrics-test-{uuid.uuid4().hex}")
    yield get_broker()
    get_broker().purge_queue()


def test_it_measures_the_queue_when_scraped(source, settings, own_queue):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    destination = make_connector(
        "http_destination", "Hooks", FIELDS, url="http://127.0.0.1:9/hooks", method="POST"
    )
    make_pipeline(source, destination)

    # Not executed on commit (the test's transaction never commits): three deliveries wait.
    ingest(source, [{"id": 1}, {"id": 2}, {"id": 3}])
    own_queue.enqueue("a queued task")

    samples = scrape()
    assert value(samples, "superconnector_deliveries_waiting", status="pending") == 3
    assert value(samples, "superconnector_deliveries_waiting", status="delivering") == 0
    assert value(samples, "superconnector_deliveries_due") == 3
    assert value(samples, "superconnector_task_queue_depth") == 1


def test_it_wants_the_token_when_one_is_set(db, settings):
    settings.METRICS_TOKEN = "scrape-me"

    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(HTTP_AUTHORIZATION="Bearer scrape-me")


def test_it_counts_nothing_for_a_transaction_that_rolled_back(source):
    make_pipeline(source, make_connector("mailbox", "Outbox", FIELDS))
    before = scrape()

    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(source, [{"id": 1}])
        raise RuntimeError("the accepting transaction failed")

    after = scrape()
    name = "superconnector_records_received_total"
    assert value(after, name, trigger="ingest") == value(before, name, trigger="ingest")


def test_it_counts_sender_verification_failures_by_connector_and_kind(db):
    hooks = make_connector("ingest_endpoint", "Hooks", FIELDS, verification={})
    hooks.verification = {"scheme": "github", "secret": "It's a Secret to Everybody"}
    hooks.save()
    name = "superconnector_ingest_verification_failures_total"
    before = scrape()
    url = f"/api/v1/ingest/{hooks.slug}/"
    for signature in ("sha256=" + "0" * 64, "sha256=" + "1" * 64, None):
        headers = {"X-Hub-Signature-256": signature} if signature else {}
        response = Client().post(url, {"id": 1}, content_type="application/json", headers=headers)
        assert response.status_code == 401
    after = scrape()
    for kind, count in (("signature", 2), ("missing", 1)):
        delta = value(after, name, connector=hooks.slug, reason=kind) - value(
            before, name, connector=hooks.slug, reason=kind
        )
        assert delta == count
