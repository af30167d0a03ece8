"""The Customer.io walkthrough, all through clicks: from an empty database to a delivered record."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESTINATION_FIELDS = [
    ("id", "string", True),
    ("campaign_id", "string", True),
    ("action_id", "string", True),
    ("identifiers.email", "email", True),
    ("message_data.amount", "number", False),
]


def sidebar(page, name: str) -> None:
    page.locator("nav.nav").get_by_role("link", name=name, exact=True).click()


def add_fields(page, fields) -> None:
    for n, (name, type_name, required) in enumerate(fields, start=1):
        page.get_by_role("button", name="+ Add field").click()
        page.get_by_label(f"Field {n} name", exact=True).fill(name)
        page.get_by_label(f"Field {n} type", exact=True).select_option(type_name)
        if required:
            page.get_by_label(f"Field {n} required", exact=True).check()


def test_it_delivers_a_record_configured_entirely_in_the_browser(signed_in, screenshot, httpserver):
    page = signed_in
    httpserver.expect_request(re.compile("/v1/campaigns/.*"), method="POST").respond_with_json(
        {"delivery_id": "abc"}
    )
    screenshot("dashboard-empty")

    # The source: an ingest endpoint, its schema inferred from a sample record.
    sidebar(page, "Connectors")
    page.get_by_role("link", name="+ New connector").click()
    screenshot("connector-picker")
    page.get_by_role("link", name=re.compile("^Ingest endpoint")).click()
    page.locator("#id_name").fill("Orders")
    page.get_by_text("Infer from a sample").click()
    page.locator("#infer-sample").fill(
        '{"order_id": 1001, "email": "ada@example.com", "amount": 12.5}'
    )
    page.get_by_role("button", name="Propose fields").click()
    page.get_by_text("Proposed 3 field(s)").wait_for()
    assert page.get_by_label("Field 1 name", exact=True).input_value() == "order_id"
    page.get_by_label("Field 3 required", exact=True).uncheck()
    page.get_by_role("button", name="Create Ingest endpoint").click()
    page.get_by_text("Copy this token now").wait_for()

    # The destination: Customer.io's transactional API, with a secret Authorization header.
    sidebar(page, "Connectors")
    page.get_by_role("link", name="+ New connector").click()
    page.get_by_role("link", name=re.compile("^HTTP destination")).click()
    page.locator("#id_name").fill("Customer.io transactional")
    page.locator("#id_url").fill(
        httpserver.url_for("/v1/campaigns/") + "{{ campaign_id }}/actions/{{ action_id }}/send"
    )
    page.get_by_text("Not in the schema: campaign_id, action_id").wait_for()
    add_fields(page, DESTINATION_FIELDS)
    page.get_by_text("Placeholders found in the schema: campaign_id, action_id").wait_for()
    page.get_by_role("button", name="+ Add header").click()
    page.get_by_label("Header 1 name", exact=True).fill("Authorization")
    page.get_by_label("Header 1 is secret", exact=True).check()
    page.get_by_label("Header 1 value", exact=True).fill("Bearer 7f3c-secret")
    screenshot("destination-form")
    page.get_by_role("button", name="Create HTTP destination").click()
    page.get_by_text("HTTP destination “Customer.io transactional” created.").wait_for()
    assert "7f3c-secret" not in page.content()

    # The pipeline and its mapping, previewed before it is saved.
    sidebar(page, "Pipelines")
    page.get_by_role("link", name="+ New pipeline").click()
    page.locator("#id_name").fill("Orders to Customer.io")
    page.get_by_label(re.compile("^Source")).select_option(label="Orders")
    page.get_by_label(re.compile("^Destination")).select_option(label="Customer.io transactional")
    page.get_by_role("button", name="Create and map fields").click()
    # Required fields without a same-named source field: created paused until they are mapped.
    page.get_by_text("Pipeline created, paused until its required fields are mapped.").wait_for()
    page.get_by_label("How id gets its value", exact=True).select_option("source")
    page.get_by_label("Source field for id", exact=True).select_option("order_id")
    page.get_by_label("How campaign_id gets its value", exact=True).select_option("value")
    page.get_by_label("Constant for campaign_id", exact=True).fill("1234")
    page.get_by_label("How action_id gets its value", exact=True).select_option("value")
    page.get_by_label("Constant for action_id", exact=True).fill("5678")
    page.get_by_label("How identifiers.email gets its value", exact=True).select_option("source")
    page.get_by_label("Source field for identifiers.email", exact=True).select_option("email")
    page.get_by_label("Transforms for identifiers.email", exact=True).fill("trim | lower")
    page.get_by_label("How message_data.amount gets its value", exact=True).select_option("source")
    page.get_by_label("Source field for message_data.amount", exact=True).select_option("amount")
    page.get_by_role("button", name="Preview", exact=True).click()
    request = page.locator("[data-preview-request]").first
    request.wait_for()
    assert "/v1/campaigns/1234/actions/5678/send" in request.inner_text()
    assert "Authorization: ********" in request.inner_text()
    screenshot("pipeline-editor")
    page.get_by_label("Enabled: records go through this pipeline").check()
    page.get_by_role("button", name="Save mapping").click()
    page.get_by_text("Mapping saved.").wait_for()

    # A record posted to the endpoint from its page travels to the receiver.
    page.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_label("Record (JSON object or array)").fill(
        '{"order_id": 1001, "email": " Ada@Example.com ", "amount": 12.5}'
    )
    page.get_by_role("button", name="Send to the endpoint").click()
    page.get_by_text("1 received, 1 accepted, 0 rejected.").wait_for()
    screenshot("ingest-endpoint")
    sidebar(page, "Deliveries")
    page.locator(".badge.delivered").first.wait_for()
    screenshot("deliveries")

    ((sent, _),) = httpserver.log
    assert sent.path == "/v1/campaigns/1234/actions/5678/send"
    assert sent.headers["Authorization"] == "Bearer 7f3c-secret"
    assert json.loads(sent.data) == {
        "id": "1001",
        "campaign_id": "1234",
        "action_id": "5678",
        "identifiers": {"email": "ada@example.com"},
        "message_data": {"amount": 12.5},
    }
