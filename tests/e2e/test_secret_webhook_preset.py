"""A Slack webhook connector made from its preset in the browser: the webhook URL's secret
path is typed once and never shown again, on any page, after a test request, or an edit."""

from __future__ import annotations

import json

import pytest

from connectors.models import Connector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET_PATH = "/services/T0E2E0000/B0E2E0000/e2eNeedleXyZ123"


def test_a_slack_preset_connector_never_shows_its_webhook_path(signed_in, httpserver):
    page = signed_in
    httpserver.expect_request(SECRET_PATH, method="POST").respond_with_data("ok")
    webhook_url = httpserver.url_for(SECRET_PATH)
    needle = "e2eNeedleXyZ123"

    page.goto("/connectors/new/")
    page.get_by_label("Search presets").fill("slack")
    page.get_by_role("link", name="Slack: post a message (incoming webhook)").click()
    webhook = page.get_by_label("Webhook URL")
    assert webhook.get_attribute("type") == "password"
    webhook.fill(webhook_url)
    page.get_by_role("button", name="Create from preset").click()
    page.get_by_text("Created “Slack channel” from the preset").wait_for()
    assert needle not in page.content()
    assert "webhook_url: ********" in page.content()

    page.get_by_label("Record (JSON)").fill('{"text": "Hello from the browser"}')
    page.get_by_role("button", name="Send test request").click()
    page.locator("#test-result").wait_for()
    assert needle not in page.content()
    ((sent, _),) = httpserver.log
    assert sent.path == SECRET_PATH
    assert json.loads(sent.data) == {"text": "Hello from the browser"}

    # Editing: the value is a password input left blank, and saving keeps it.
    page.get_by_role("link", name="Edit", exact=True).first.click()
    value = page.get_by_label("Secret variable 1 value (stored; leave blank to keep)")
    assert value.get_attribute("type") == "password"
    assert value.input_value() == ""
    assert needle not in page.content()
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="Slack channel").wait_for()
    assert needle not in page.content()
    assert Connector.objects.get().secret_variables == {"webhook_url": webhook_url}
