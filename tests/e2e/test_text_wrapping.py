"""Text that must stay readable: short answers on one line, URLs whole when they fit, prose in a
prose font."""

from __future__ import annotations

import pytest

from pipelines.delivery.models import Delivery, DeliveryAttempt
from tests.helpers import make_connector, make_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINES_OF = """([selector, part]) => {
  const node = document.querySelector(selector).firstChild;
  const start = node.textContent.indexOf(part);
  const range = document.createRange();
  range.setStart(node, start);
  range.setEnd(node, start + part.length);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
}"""


def lines(page, selector: str, part: str) -> int:
    """How many lines `part` of the element's text takes on screen."""
    return page.evaluate(LINES_OF, [selector, part])


@pytest.fixture
def answered_delivery(db):
    source = make_connector("ingest_endpoint", "Orders", [{"name": "id", "type": "integer"}])
    crm = make_connector(
        "http_destination",
        "CRM",
        url="https://api.example.com/v2/customers/import/batches/{{ id }}",
        method="POST",
    )
    delivery = Delivery.objects.create(
        pipeline=make_pipeline(source, crm, name="Orders to the CRM"),
        destination=crm,
        status="delivered",
        attempts=1,
        records=[{"id": 1}],
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        duration_ms=42,
        status_code=200,
        request_method="POST",
        request_url="https://api.example.com/v2/customers/import/batches/1",
        request_headers={
            "Content-Type": "application/json",
            "Idempotency-Key": "a-rather-long-idempotency-key-0123456789abcdef",
            "Authorization": "********",
        },
        response_excerpt='{"ok": true}',
    )
    return delivery


@pytest.mark.parametrize("width", [1366, 390])
def test_it_keeps_a_short_response_on_one_line(signed_in, answered_delivery, width):
    page = signed_in
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/deliveries/{answered_delivery.pk}/")
    assert lines(page, "td pre", '{"ok": true}') == 1


def test_it_breaks_a_command_between_words_not_inside_the_url(signed_in):
    page = signed_in
    orders = make_connector("ingest_endpoint", "Orders", [{"name": "id", "type": "integer"}])
    page.goto(f"/connectors/{orders.pk}/")
    url = page.locator("#endpoint-url").inner_text()
    assert lines(page, "#curl-json", url) == 1
    assert lines(page, "#curl-csv", url) == 1


def test_it_writes_the_description_in_the_page_font(signed_in):
    page = signed_in
    page.goto("/connectors/new/mailbox/")
    font = page.locator("#id_description").evaluate("el => getComputedStyle(el).fontFamily")
    assert "monospace" not in font
    schema = page.locator("#infer-sample").evaluate("el => getComputedStyle(el).fontFamily")
    assert "monospace" in schema
