"""The CSV uploader in a browser: a preview of the first rows, processing, and a rejected row fixed."""

from __future__ import annotations

import json

import pytest

from tests.helpers import make_connector, make_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = "order_id,email\n1,ada@example.com\nabc,grace@example.com\n3,alan@example.com\n"


def test_it_uploads_a_csv_and_fixes_the_rejected_row(signed_in, screenshot, tmp_path):
    page = signed_in
    orders = make_connector(
        "ingest_endpoint",
        "Orders",
        [
            {"name": "order_id", "type": "integer", "required": True},
            {"name": "email", "type": "email", "required": True},
        ],
    )
    outbox = make_connector(
        "mailbox",
        "Outbox",
        [{"name": "order_id", "type": "integer"}, {"name": "email", "type": "email"}],
    )
    make_pipeline(orders, outbox, name="Orders to outbox")
    path = tmp_path / "orders.csv"
    path.write_text(CSV)

    page.goto(f"/connectors/{orders.pk}/")
    page.get_by_role("link", name="Upload CSV").click()
    page.locator("#id_file").set_input_files(str(path))
    preview = page.locator("[data-upload-preview-table]")
    preview.wait_for()
    assert "will be rejected" in preview.locator("tbody tr").nth(1).inner_text()
    screenshot("csv-upload-preview")

    page.get_by_role("button", name="Upload and process").click()
    page.get_by_role("heading", name="Rejected rows").wait_for()
    assert page.locator(".stat").nth(1).inner_text().startswith("2")
    cell = page.get_by_label("Row 2 order_id", exact=True)
    assert cell.input_value() == "abc"
    cell.fill("2")
    screenshot("fix-rejected-rows")
    page.get_by_role("button", name="Resend row 2").click()
    page.get_by_text("Resent 1 record(s)").wait_for()
    assert page.locator(".badge.succeeded").count() == 1
    screenshot("run")
    page.locator("nav.nav").get_by_role("link", name="Dashboard").click()
    screenshot("dashboard")

    stored = [json.loads(r.data) for r in outbox.mailbox_records.order_by("seq")]
    assert stored == [
        {"order_id": 1, "email": "ada@example.com"},
        {"order_id": 3, "email": "alan@example.com"},
        {"order_id": 2, "email": "grace@example.com"},
    ]
