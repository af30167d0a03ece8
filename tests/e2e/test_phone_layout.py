"""Every page on a phone (390 x 844): nothing overflows sideways, the mapping editor's selects
stay wide enough to read."""

from __future__ import annotations

import pytest

from connectors.models import Connector
from pipelines import demo
from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run
from pipelines.uploads.models import Upload
from tests.helpers import make_connector, make_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NARROWEST_SELECT = 120
# The pages pictured in docs/screenshots/phone/ (`make screenshots`).
PICTURED = {"dashboard", "connector-ingest_endpoint", "pipeline-editor-1", "run", "delivery"}


@pytest.fixture
def phone(signed_in):
    signed_in.set_viewport_size(PHONE)
    return signed_in


@pytest.fixture
def workspace(live_server):
    """One connector of each kind, pipelines between them, a run with a rejected record and
    deliveries, an upload: something on every page."""
    demo.create(live_server.url)
    demo.send_sample_orders()
    source = make_connector(
        "http_source",
        "Customer API with a rather long name",
        [{"name": "id", "type": "integer", "required": True}, {"name": "email"}],
        url="https://api.example.com/v1/customers/with/a/long/path?include=everything&page=1",
        method="GET",
    )
    mailbox = Connector.objects.get(slug="demo-clean-orders")
    make_pipeline(source, mailbox, name="Customers to the mailbox")
    orders = Connector.objects.get(slug="demo-orders")
    run = Run.objects.filter(rejected__gt=0).first()
    upload = Upload.objects.create(source=orders, run=run, filename="orders.csv", status="done")
    return {
        "connectors": {c.kind: c for c in Connector.objects.filter(slug__startswith="demo-")}
        | {"http_source": source},
        "run": run,
        "delivery": Delivery.objects.first(),
        "upload": upload,
        "pipelines": list(orders.outgoing_pipelines.all()),
    }


def pages(workspace) -> list[tuple[str, str]]:
    urls = [
        ("dashboard", "/"),
        ("connectors", "/connectors/"),
        ("connector-picker", "/connectors/new/"),
        ("pipelines", "/pipelines/"),
        ("pipeline-new", "/pipelines/new/"),
        ("runs", "/runs/"),
        ("run", f"/runs/{workspace['run'].pk}/"),
        ("deliveries", "/deliveries/"),
        ("delivery", f"/deliveries/{workspace['delivery'].pk}/"),
        ("upload-new", f"/connectors/{workspace['connectors']['ingest_endpoint'].pk}/upload/"),
        ("upload", f"/uploads/{workspace['upload'].pk}/"),
    ]
    for kind, connector in workspace["connectors"].items():
        urls += [
            (f"connector-new-{kind}", f"/connectors/new/{kind}/"),
            (f"connector-{kind}", f"/connectors/{connector.pk}/"),
            (f"connector-edit-{kind}", f"/connectors/{connector.pk}/edit/"),
        ]
    urls += [
        (f"pipeline-editor-{n}", f"/pipelines/{p.pk}/")
        for n, p in enumerate(workspace["pipelines"], start=1)
    ]
    return urls


def picture(page, screenshots, name: str) -> None:
    folder = screenshots / "phone"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_it_fits_every_page_on_a_phone(phone, workspace, screenshots):
    too_wide = {}
    for name, url in pages(workspace):
        phone.goto(url)
        phone.locator("main h1").first.wait_for()
        width = overflow(phone)
        if width > PHONE["width"]:
            too_wide[name] = width
        if name in PICTURED:
            picture(phone, screenshots, name)
    assert not too_wide, f"wider than the phone: {too_wide}"


def test_it_fits_the_login_page_on_a_phone(browser, live_server, screenshots):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").wait_for()
    assert overflow(page) <= PHONE["width"]
    picture(page, screenshots, "login")
    context.close()


def test_it_keeps_the_mapping_selects_readable_on_a_phone(phone, workspace):
    for pipeline in workspace["pipelines"]:
        phone.goto(f"/pipelines/{pipeline.pk}/")
        widths = phone.locator("form select:visible").evaluate_all(
            "selects => selects.map(s => [s.name, s.getBoundingClientRect().width])"
        )
        assert widths, "the editor shows its selects"
        narrow = {name: width for name, width in widths if width < NARROWEST_SELECT}
        assert not narrow, f"selects narrower than {NARROWEST_SELECT} px: {narrow}"
        assert overflow(phone) <= PHONE["width"]
