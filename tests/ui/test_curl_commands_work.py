"""The curl commands the pages show work when pasted into a shell: each one is taken from the
rendered page and run through `bash -c` against a live server."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from urllib.parse import urlsplit

import pytest
from django.test import Client

from connectors.verification import clean_verification
from mailbox.models import append_records
from pipelines import demo
from tests.helpers import VERIFICATION_SETTINGS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_like(alice, live_server) -> Client:
    """A staff member's browser on the live server's host, so the pages' URLs point at it."""
    client = Client(HTTP_HOST=urlsplit(live_server.url).netloc)
    client.force_login(alice)
    return client


def command(page: str, element_id: str) -> str:
    found = re.search(rf'<pre id="{element_id}">(.*?)</pre>', page, re.S)
    assert found, f"no #{element_id} on the page"
    return html.unescape(found.group(1))


def run(shell_command: str, **variables: str) -> tuple[int, str]:
    """Run a command as pasted into bash, with only these variables set; the HTTP status and body."""
    env = {"PATH": os.environ["PATH"], **variables}
    completed = subprocess.run(
        ["bash", "-c", shell_command + " -s -w '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    body, _, status = completed.stdout.rpartition("\n")
    return int(status or 0), body


def test_it_shows_ingest_commands_that_work_with_the_token_in_a_variable(browser_like, orders):
    token = orders.rotate_token()
    page = browser_like.get(f"/connectors/{orders.pk}/").content.decode()
    assert token not in page

    for element_id in ("curl-json", "curl-csv"):
        status, body = run(command(page, element_id), TOKEN=token)
        assert status == 202, (element_id, body)
        assert run(command(page, element_id), TOKEN="wrong")[0] == 401


def test_it_shows_ingest_commands_that_work_with_the_token_shown_once(browser_like, orders):
    response = browser_like.post(f"/connectors/{orders.pk}/rotate-token/", follow=True)
    page = response.content.decode()
    assert response.context["token"] in command(page, "curl-json")

    assert run(command(page, "curl-json"))[0] == 202
    assert run(command(page, "curl-csv"))[0] == 202


@pytest.mark.parametrize("scheme", ["github", "basic"])
def test_a_signed_endpoint_shows_only_commands_that_it_accepts(browser_like, orders, scheme):
    """A signed endpoint answers a bearer token 401: every command under "Try it with curl"
    must work as pasted, with the secret (or password) in its variable."""
    orders.verification = clean_verification(VERIFICATION_SETTINGS[scheme])
    orders.save()
    token = orders.rotate_token()
    secret = (
        VERIFICATION_SETTINGS[scheme].get("secret") or VERIFICATION_SETTINGS[scheme]["password"]
    )
    page = browser_like.get(f"/connectors/{orders.pk}/").content.decode()
    shown = re.findall(r'<pre id="(curl-[a-z-]+)">', page)
    assert "curl-signed" in shown

    for element_id in shown:
        status, body = run(command(page, element_id), TOKEN=token, SECRET=secret, PASSWORD=secret)
        assert status == 202, (element_id, body)


def test_it_shows_mailbox_commands_that_work_with_the_token_in_a_variable(browser_like, outbox):
    token = outbox.rotate_token()
    append_records(outbox, ['{"id": 1}'])
    page = browser_like.get(f"/connectors/{outbox.pk}/").content.decode()

    status, body = run(command(page, "curl-poll"), TOKEN=token)
    assert status == 200, body
    polled = json.loads(body)
    assert [r["data"] for r in polled["records"]] == [{"id": 1}]

    status, body = run(command(page, "curl-ack"), TOKEN=token, CURSOR=polled["next"])
    assert status == 200, body


def test_it_shows_demo_commands_that_work_with_the_tokens_in_variables(browser_like, live_server):
    tokens = demo.create(live_server.url)
    page = browser_like.get("/").content.decode()
    variables = {
        "ORDERS_TOKEN": tokens["demo-orders"],
        "MAILBOX_TOKEN": tokens["demo-clean-orders"],
    }

    assert run(command(page, "demo-command-1"), **variables)[0] == 202
    status, body = run(command(page, "demo-command-2"), **variables)
    assert status == 200, body
