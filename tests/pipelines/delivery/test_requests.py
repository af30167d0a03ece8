"""What a destination receives: placeholders, auth helpers, headers; and what people are shown."""

from __future__ import annotations

import base64

import pytest

from connectors.outbound import render_requests
from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_renders_url_and_headers_per_record(db, httpserver):
    httpserver.expect_request("/accounts/acme/events", method="PUT").respond_with_data(
        "", status=204
    )
    destination = make_destination(
        httpserver.url_for("/accounts/{{ account }}/events"),
        headers=[{"name": "X-Tenant", "value": "{{ account }}-{{ region }}"}],
        variables={"region": "eu"},
    )
    destination.method = "PUT"
    destination.save()
    delivery = make_delivery(destination, [{"id": 1, "account": "acme"}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    assert httpserver.log[0][0].headers["X-Tenant"] == "acme-eu"


def test_it_fails_a_record_missing_a_url_placeholder(db, httpserver):
    destination = make_destination(httpserver.url_for("/accounts/{{ account }}/events"))
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    delivery.refresh_from_db()
    assert "the URL cannot be rendered" in delivery.last_error
    assert "account" in delivery.last_error
    assert len(httpserver.log) == 0
    destination.refresh_from_db()
    assert destination.failing_since is None  # the record's fault, not the destination's


def test_it_applies_basic_auth(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(
        httpserver.url_for("/hooks"),
        auth={"type": "basic", "username": "alice", "password": "s3cret"},
    )
    deliver(make_delivery(destination, [{"id": 1}]).pk)

    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert httpserver.log[0][0].headers["Authorization"] == expected


def test_it_applies_an_api_key_in_the_query_and_masks_it(db, httpserver):
    httpserver.expect_request("/hooks", query_string="api_key=k-123").respond_with_data(
        "", status=200
    )
    destination = make_destination(
        httpserver.url_for("/hooks"),
        auth={"type": "api_key", "in": "query", "name": "api_key", "value": "k-123"},
    )
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    attempt = delivery.attempt_log.get()
    assert "k-123" not in attempt.request_url
    assert attempt.request_url.endswith("api_key=%2A%2A%2A%2A%2A%2A%2A%2A")


def test_it_masks_secrets_in_what_it_shows(db, httpserver):
    destination = make_destination(
        httpserver.url_for("/hooks"),
        headers=[
            {"name": "X-Token", "value": "tok-123", "secret": True},
            {"name": "X-Plain", "value": "visible"},
        ],
        auth={"type": "bearer", "token": "bearer-456"},
    )

    (request,) = render_requests(destination, [{"id": 1}], idempotency_key="preview")
    shown = request.masked()

    assert shown["headers"]["X-Token"] == "********"
    assert shown["headers"]["Authorization"] == "********"
    assert shown["headers"]["X-Plain"] == "visible"
    assert shown["headers"]["Idempotency-Key"] == "preview"
    assert shown["body"] == '{"id":1}'
    assert "tok-123" not in str(shown) and "bearer-456" not in str(shown)


def test_it_refuses_a_body_template_that_is_not_json(db, httpserver):
    destination = make_destination(
        httpserver.url_for("/hooks"), body_template='{"name": "{{ name }}"'
    )
    delivery = make_delivery(destination, [{"id": 1, "name": "Al"}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    delivery.refresh_from_db()
    assert "valid JSON" in delivery.last_error
