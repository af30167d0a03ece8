"""Standard Webhooks signatures, verified by the reference library as a receiver would."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors.signing import generate_secret
from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def received(httpserver) -> tuple[bytes, dict]:
    request, _ = httpserver.log[-1]
    return request.get_data(), dict(request.headers)


def test_it_signs_so_that_receivers_can_verify(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    secret = generate_secret()
    destination = make_destination(httpserver.url_for("/hooks"), signing_secret=secret)
    delivery = make_delivery(destination, [{"id": 7}])

    assert deliver(delivery.pk) == Delivery.Status.DELIVERED

    body, headers = received(httpserver)
    assert Webhook(secret).verify(body, headers) == {"id": 7}
    assert headers["Webhook-Id"] == str(delivery.idempotency_key)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"7", b"8"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_it_signs_with_both_secrets_during_a_rotation(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    new, old = generate_secret(), generate_secret()
    destination = make_destination(
        httpserver.url_for("/hooks"), signing_secret=new, previous_signing_secret=old
    )
    delivery = make_delivery(destination, [{"id": 7}])

    deliver(delivery.pk)

    body, headers = received(httpserver)
    assert Webhook(new).verify(body, headers) == {"id": 7}
    assert Webhook(old).verify(body, headers) == {"id": 7}


def test_it_sends_no_signature_without_a_secret(db, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", status=200)
    destination = make_destination(httpserver.url_for("/hooks"))
    deliver(make_delivery(destination, [{"id": 7}]).pk)

    _, headers = received(httpserver)
    assert "Webhook-Signature" not in headers
