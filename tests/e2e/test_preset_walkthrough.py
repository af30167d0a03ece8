"""The Customer.io walkthrough again, from its preset: under a dozen interactions from the
connector list to a delivered email request, through a local fake of Customer.io."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Counted:
    """The page, counting each click, fill and keystroke a person would make."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()

    def fill(self, locator, text: str) -> None:
        self.count += 1
        locator.fill(text)


def test_it_builds_the_customerio_walkthrough_from_its_preset(signed_in, httpserver, screenshot):
    page = signed_in
    httpserver.expect_request("/v1/send/email", method="POST").respond_with_json(
        {"delivery_id": "abc"}
    )
    you = Counted(page)

    you.click(page.locator("nav.nav").get_by_role("link", name="Connectors", exact=True))
    you.click(page.get_by_role("link", name="+ New connector"))
    you.fill(page.get_by_label("Search presets"), "customer.io email")
    assert page.get_by_role("link", name="Slack: post a message (incoming webhook)").is_hidden()
    screenshot("preset-picker")
    you.click(page.get_by_role("link", name="Customer.io: send a transactional email"))
    you.fill(page.get_by_label("App API key"), "cio-app-key")
    you.fill(page.get_by_label("Transactional message id"), "3")
    you.fill(page.get_by_label("API host"), httpserver.url_for("").rstrip("/"))
    you.click(page.get_by_role("button", name="Create from preset"))
    page.get_by_text("Created “Customer.io transactional email” from the preset").wait_for()
    assert "cio-app-key" not in page.content()

    # The pipeline came with it: post a record to its source, from the source's page.
    you.click(page.get_by_role("link", name="Email requests", exact=True))
    page.get_by_text("Copy this token now").wait_for()
    you.fill(
        page.get_by_label("Record (JSON object or array)"),
        '{"email": " Ada@Example.com ", "message_data": {"first_name": "Ada"}}',
    )
    you.click(page.get_by_role("button", name="Send to the endpoint"))
    page.get_by_text("1 received, 1 accepted, 0 rejected.").wait_for()
    screenshot("preset-delivered")

    assert you.count < 12, you.count
    ((sent, _),) = httpserver.log
    assert sent.headers["Authorization"] == "Bearer cio-app-key"
    assert json.loads(sent.data) == {
        "transactional_message_id": 3,
        "to": "ada@example.com",
        "identifiers": {"email": "ada@example.com"},
        "message_data": {"first_name": "Ada"},
    }
