"""A GitHub-style webhook endpoint configured in the browser: a signed POST reaches the mailbox,
a wrongly signed one shows on the endpoint's page."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request

import pytest

from connectors.models import Connector
from tests.helpers import make_connector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "It's a Secret to Everybody"


def post_signed(url: str, body: bytes, secret: str) -> tuple[int, dict]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_signed_github_webhook_lands_in_the_mailbox(signed_in, live_server, screenshot):
    page = signed_in
    make_connector(
        "mailbox",
        "Push events",
        [{"name": "ref", "type": "string"}, {"name": "commits", "type": "integer"}],
    )

    # The endpoint: GitHub's scheme and the webhook's secret, picked in the form.
    page.goto("/connectors/new/ingest_endpoint/")
    page.locator("#id_name").fill("GitHub pushes")
    page.get_by_text("Infer from a sample").click()
    page.locator("#infer-sample").fill('{"ref": "refs/heads/main", "commits": 3}')
    page.get_by_role("button", name="Propose fields").click()
    page.get_by_text("Proposed 2 field(s)").wait_for()
    page.get_by_label("The sender proves itself with").select_option("github")
    header = page.locator('[data-sender-header="github"]')
    assert header.is_visible()
    assert header.inner_text() == "X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>"
    assert not page.locator('[data-sender-header="stripe"]').is_visible()
    assert not page.get_by_label("Signature header").is_visible()
    page.get_by_label("Signing secret").fill(SECRET)
    assert page.get_by_label("Signing secret").get_attribute("type") == "password"
    page.locator("#sender-verification").scroll_into_view_if_needed()
    screenshot("ingest-verification-form")
    page.get_by_role("button", name="Create Ingest endpoint").click()
    page.get_by_text("Copy this token now").wait_for()
    assert SECRET not in page.content()
    endpoint = Connector.objects.get(name="GitHub pushes")
    assert endpoint.verification["scheme"] == "github"

    # The pipeline to the mailbox, fields matched by name.
    page.goto("/pipelines/new/")
    page.locator("#id_name").fill("Pushes to the mailbox")
    page.get_by_label(re.compile("^Source")).select_option(label="GitHub pushes")
    page.get_by_label(re.compile("^Destination")).select_option(label="Push events")
    page.get_by_role("button", name="Create and map fields").click()
    page.get_by_role("button", name="Save mapping").click()
    page.get_by_text("Mapping saved.").wait_for()

    url = f"{live_server.url}/api/v1/ingest/{endpoint.slug}/"
    body = json.dumps({"ref": "refs/heads/main", "commits": 3}).encode()
    status, answer = post_signed(url, body, SECRET)
    assert (status, answer["accepted"]) == (202, 1)

    page.get_by_role("link", name="Push events", exact=True).click()
    page.get_by_text('"ref": "refs/heads/main"').wait_for()

    # Signed with another secret: refused, and listed on the endpoint's page.
    status, answer = post_signed(url, body, "not the secret")
    assert (status, answer) == (401, {"detail": "signature does not match"})
    page.goto(f"/connectors/{endpoint.pk}/")
    failures = page.locator("#verification-failures tbody tr")
    assert failures.count() == 1
    assert "signature does not match" in failures.first.inner_text()
    assert "github" in failures.first.inner_text()
    page.locator("#verification-failures").scroll_into_view_if_needed()
    screenshot("ingest-verification-failures")
