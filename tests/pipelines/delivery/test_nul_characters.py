"""A NUL character a record carries into an attempt (its URL, a render error) is kept as U+FFFD:
PostgreSQL's text refuses NUL, and with it the outcomes of every delivery of the claim, which
were sent and would be sent again when their lease ran out."""

from __future__ import annotations

import pytest

from pipelines.delivery.courier import deliver_many
from pipelines.delivery.models import Delivery
from tests.pipelines.delivery.destinations import make_delivery, make_destination


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_a_nul_rendered_into_the_url_is_shown_as_a_replacement_character(db, httpserver):
    httpserver.expect_request("/lists/a\x00b").respond_with_data("", status=204)
    httpserver.expect_request("/lists/c").respond_with_data("", status=204)
    destination = make_destination(httpserver.url_for("/lists/{{ list }}"))
    odd = make_delivery(destination, [{"id": 1, "list": "a\x00b"}])
    plain = make_delivery(destination, [{"id": 2, "list": "c"}])

    statuses = deliver_many([odd.pk, plain.pk])

    assert statuses == {odd.pk: Delivery.Status.DELIVERED, plain.pk: Delivery.Status.DELIVERED}
    assert odd.attempt_log.get().request_url.endswith("/lists/a\ufffdb")


def test_a_nul_quoted_by_a_render_error_is_shown_as_a_replacement_character(db, httpserver):
    destination = make_destination(httpserver.url_for("/lists/{{ list }}"), batch_size=10)
    delivery = make_delivery(destination, [{"id": 1, "list": "a\x00"}, {"id": 2, "list": "b"}])

    assert deliver_many([delivery.pk]) == {delivery.pk: Delivery.Status.FAILED}

    delivery.refresh_from_db()
    assert "differs between the records of one batch" in delivery.last_error
    assert "a\ufffd" in delivery.last_error
    assert "a\ufffd" in delivery.attempt_log.get().error
    assert len(httpserver.log) == 0
