"""Secret variables in the requests of an HTTP destination: rendered into the URL, headers and
body, and every outbound check applied to the URL they make."""

from __future__ import annotations

import json

from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination

SECRET_PATH = "/services/T0001/B0002/sv-needle-path"


def test_it_renders_them_into_the_url_headers_and_body(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_data("ok")
    destination = make_destination(
        "{{ webhook_url }}",
        headers=[{"name": "X-Token", "value": "Token {{ api_token }}"}],
        secret_variables={
            "webhook_url": httpserver.url_for(SECRET_PATH),
            "api_token": "sv-needle-token",
        },
        body_template='{"id": {{ id }}, "key": "{{ api_token }}"}',
    )
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    (request, _), *_ = httpserver.log
    assert request.headers["X-Token"] == "Token sv-needle-token"
    assert json.loads(request.get_data()) == {"id": 1, "key": "sv-needle-token"}
    attempt = delivery.attempt_log.get()
    assert attempt.request_url == "********"
    assert "sv-needle" not in attempt.request_url + json.dumps(attempt.request_headers)


def test_a_record_field_of_the_same_name_cannot_redirect_the_request(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request(SECRET_PATH).respond_with_data("ok")
    destination = make_destination(
        "{{ webhook_url }}", secret_variables={"webhook_url": httpserver.url_for(SECRET_PATH)}
    )
    delivery = make_delivery(destination, [{"id": 1, "webhook_url": "http://example.invalid/"}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED
    assert [request.path for request, _ in httpserver.log] == [SECRET_PATH]


def test_the_url_they_make_is_refused_when_private(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    httpserver.expect_request(SECRET_PATH).respond_with_data("ok")
    destination = make_destination(
        "{{ webhook_url }}", secret_variables={"webhook_url": httpserver.url_for(SECRET_PATH)}
    )
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    assert len(httpserver.log) == 0
    attempt = delivery.attempt_log.get()
    assert "ALLOW_PRIVATE_DESTINATIONS" in attempt.error
    assert "sv-needle" not in attempt.error + attempt.request_url


def test_the_url_they_make_must_be_http(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    destination = make_destination(
        "{{ webhook_url }}", secret_variables={"webhook_url": "file:///etc/sv-needle-file"}
    )
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    attempt = delivery.attempt_log.get()
    assert "http:// or https://" in attempt.error
    assert "sv-needle" not in attempt.error


def test_a_redirect_from_the_url_they_make_is_not_followed(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request(SECRET_PATH).respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    destination = make_destination(
        "{{ webhook_url }}", secret_variables={"webhook_url": httpserver.url_for(SECRET_PATH)}
    )
    delivery = make_delivery(destination, [{"id": 1}])

    assert deliver(delivery.pk) == Delivery.Status.FAILED

    assert [request.path for request, _ in httpserver.log] == [SECRET_PATH]
    assert "redirects are not followed" in delivery.attempt_log.get().error
