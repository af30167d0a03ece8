"""A phone with a touch screen (390 x 844): what one taps is big enough, the tab showing looks
selected, and a rejected record's cells and a delivery's attempts stay readable."""

from __future__ import annotations

import pytest

from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.ingest.receive import accept_batch
from pipelines.runs.models import Run
from tests.e2e.conftest import PASSWORD, log_in
from tests.helpers import make_connector, make_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# Apple's and Material's smallest tap target; a checkbox gets WCAG's 24 px.
TAP = 44
CHECKBOX = 24
TAPPED = (
    ".btn, .brand, .nav a, .sidebar-foot a, .sidebar-foot button, select,"
    " input[type=text], input[type=password], input[type=number], input[type=search]"
)
SIZES = """selector => [...document.querySelectorAll(selector)]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().width,
             e.getBoundingClientRect().height])"""


@pytest.fixture
def phone(browser, live_server, django_user_model):
    django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD, is_staff=True)
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, base_url=live_server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page)
    yield page
    context.close()


@pytest.fixture
def rejected_run(db) -> Run:
    orders = make_connector(
        "ingest_endpoint",
        "Orders",
        [
            {"name": "order_id", "type": "integer", "required": True},
            {"name": "email", "type": "email", "required": True},
            {"name": "total", "type": "number"},
            {"name": "customer.name"},
        ],
    )
    record = {"order_id": 7, "email": "not-an-email", "total": 1.5, "customer.name": "Ada"}
    return Run.objects.get(pk=accept_batch(orders, [record]).data["run"])


@pytest.fixture
def retried_delivery(rejected_run) -> Delivery:
    crm = make_connector("http_destination", "CRM", url="https://api.example.com/c", method="POST")
    delivery = Delivery.objects.create(
        pipeline=make_pipeline(rejected_run.source, crm, name="Orders to the CRM"),
        destination=crm,
        status="dead",
        attempts=1,
        records=[{"id": 1}],
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        duration_ms=42,
        status_code=500,
        error="HTTP 500",
        request_method="POST",
        request_url="https://api.example.com/customers/1027/events",
        request_headers={"Content-Type": "application/json", "Authorization": "********"},
        response_excerpt='{"ok": false}',
    )
    return delivery


def sizes(page, selector: str) -> list[tuple[str, float, float]]:
    return page.evaluate(SIZES, selector)


def test_what_one_taps_is_big_enough(phone, rejected_run, retried_delivery):
    orders = rejected_run.source
    too_small = {}
    for url in (
        "/",
        f"/connectors/{orders.pk}/",
        f"/connectors/{orders.pk}/edit/",  # the schema editor: ↑, ↓, ✕ and "required"
        f"/runs/{rejected_run.pk}/",
        "/deliveries/",
    ):
        phone.goto(url)
        phone.locator("main h1").first.wait_for()
        small = [(html, h) for html, _, h in sizes(phone, TAPPED) if h < TAP - 0.5]
        small += [
            (html, w) for html, w, _ in sizes(phone, "input[type=checkbox]") if w < CHECKBOX - 0.5
        ]
        if small:
            too_small[url] = small
    assert not too_small, too_small


def test_the_tab_showing_looks_selected(phone, retried_delivery):
    for url, showing, other in (
        ("/deliveries/?status=dead", "Dead", "All"),
        ("/runs/?by=minute", "By minute", "Each run"),
    ):
        phone.goto(url)
        tabs = phone.locator("main nav .btn")
        current = tabs.filter(has_text=showing)
        assert current.get_attribute("aria-current") == "page"
        colours = [
            tab.evaluate("e => getComputedStyle(e).backgroundColor")
            for tab in (current, tabs.filter(has_text=other).first)
        ]
        assert colours[0] != colours[1], (url, colours)


def test_a_rejected_records_cells_keep_their_value_readable(phone, rejected_run):
    phone.goto(f"/runs/{rejected_run.pk}/")
    cells = phone.locator("table[data-grid] input")
    assert cells.count() == 4
    for cell in cells.all():
        fits = cell.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert fits, f"{cell.get_attribute('aria-label')}: {cell.input_value()!r} is cut off"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_delivery_attempt_reads_on_a_phone(phone, retried_delivery):
    phone.goto(f"/deliveries/{retried_delivery.pk}/")
    request = phone.locator("#delivery-live td").filter(
        has_text="POST https://api.example.com/customers/1027/events"
    )
    # Stacked under its label, not squeezed into a column a few letters wide.
    assert request.bounding_box()["width"] > PHONE["width"] * 0.7
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_stacked_mapping_row_shows_no_label_over_nothing(phone, rejected_run):
    outbox = make_connector("mailbox", "Outbox", [{"name": "email", "type": "email"}])
    pipeline = make_pipeline(rejected_run.source, outbox, name="Orders out")
    phone.goto(f"/pipelines/{pipeline.pk}/")
    transforms = phone.locator('td[data-label="Transforms"]')
    assert phone.locator('select[name="m-0-mode"]').input_value() == "auto"
    assert not transforms.is_visible()  # "Auto" takes no transforms: no empty heading
    phone.locator('select[name="m-0-mode"]').select_option("source")
    assert transforms.is_visible()
    assert phone.get_by_label("Transforms for email").is_visible()


TITLE_LINES = """e => {
  const range = document.createRange();
  range.selectNodeContents(e.firstChild);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
}"""


def test_a_card_title_stays_on_one_line_beside_its_note(phone, rejected_run):
    phone.goto(f"/connectors/{rejected_run.source.pk}/")
    title = phone.locator("#verification-failures h2")
    assert title.inner_text().startswith("Last refused requests")
    # The note (“the sender did not prove itself...”) wraps under it instead.
    assert title.evaluate(TITLE_LINES) == 1
