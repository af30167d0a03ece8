from __future__ import annotations

import base64

import pytest
from werkzeug import Request

from connectors.secrets import MASK
from pipelines.pull.runs import pull
from tests.pipelines.pull.source_helpers import (
    items,
    json_response,
    mailbox_ids,
    source_into_mailbox,
)


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def test_it_sends_a_bearer_token(db, httpserver):
    httpserver.expect_request(
        "/items", headers={"Authorization": "Bearer s3cret"}
    ).respond_with_json(items(1))
    source, box = source_into_mailbox(
        httpserver.url_for("/items"), auth={"type": "bearer", "token": "s3cret"}
    )
    assert pull(source).status == "succeeded"
    assert mailbox_ids(box) == [1]


def test_it_sends_basic_credentials(db, httpserver):
    expected = "Basic " + base64.b64encode(b"alice:pa:ss").decode()
    httpserver.expect_request("/items", headers={"Authorization": expected}).respond_with_json(
        items(1)
    )
    source, _ = source_into_mailbox(
        httpserver.url_for("/items"),
        auth={"type": "basic", "username": "alice", "password": "pa:ss"},
    )
    assert pull(source).status == "succeeded"


def test_it_sends_an_api_key_header(db, httpserver):
    httpserver.expect_request("/items", headers={"X-Token": "k-123"}).respond_with_json(items(1))
    auth = {"type": "api_key", "in": "header", "name": "X-Token", "value": "k-123"}
    source, _ = source_into_mailbox(httpserver.url_for("/items"), auth=auth)
    assert pull(source).status == "succeeded"


def test_an_api_key_in_the_query_is_sent_but_never_shown(db, httpserver):
    httpserver.expect_request(
        "/items", query_string={"api_key": "k-123", "page": "1"}
    ).respond_with_json(items(2))
    httpserver.expect_request("/items").respond_with_json({"error": "denied"}, status=403)
    auth = {"type": "api_key", "in": "query", "name": "api_key", "value": "k-123"}
    source, box = source_into_mailbox(
        httpserver.url_for("/items"),
        auth=auth,
        pagination={"type": "page", "size": 2, "size_param": ""},
    )
    run = pull(source)
    assert mailbox_ids(box) == [1, 2]
    assert run.status == "failed"  # page 2 was refused
    assert run.detail["request"]["url"].endswith("/items?page=2")
    assert "k-123" not in str(run.detail)


def test_secret_headers_are_masked_in_the_failed_run(db, httpserver):
    httpserver.expect_request("/items").respond_with_json({"error": "bad key"}, status=401)
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    source.replace_headers(
        [
            {"name": "X-Secret", "value": "hunter2", "secret": True},
            {"name": "X-Plain", "value": "v1"},
        ]
    )
    run = pull(source)
    assert run.status == "failed"
    assert run.detail["request"]["headers"] == {"X-Secret": MASK, "X-Plain": "v1"}
    assert run.detail["response"]["status"] == 401
    assert "bad key" in run.detail["response"]["excerpt"]
    assert "hunter2" not in str(run.detail)


def test_oauth2_fetches_a_token_and_refreshes_it_after_a_401(db, httpserver):
    issued = []

    def token(request: Request):
        issued.append(request.form["grant_type"])
        return json_response({"access_token": f"token-{len(issued)}", "expires_in": 3600})

    def api(request: Request):
        # token-1 was revoked on the server side before it expired.
        if request.headers.get("Authorization") != "Bearer token-2":
            return json_response({"error": "invalid_token"}, status=401)
        return json_response(items(2))

    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/items").respond_with_handler(api)
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": httpserver.url_for("/oauth/token"),
        "client_id": "app",
        "client_secret": "shh",
    }
    source, box = source_into_mailbox(httpserver.url_for("/items"), auth=auth)
    run = pull(source)
    assert run.status == "succeeded"
    assert issued == ["client_credentials", "client_credentials"]
    assert mailbox_ids(box) == [1, 2]
    assert "shh" not in str(run.detail) and "token-" not in str(run.detail)


def test_a_refused_oauth2_token_fails_the_run(db, httpserver):
    httpserver.expect_request("/oauth/token").respond_with_json(
        {"error": "invalid_client"}, status=401
    )
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": httpserver.url_for("/oauth/token"),
        "client_id": "app",
        "client_secret": "wrong",
    }
    source, _ = source_into_mailbox(httpserver.url_for("/items"), auth=auth)
    run = pull(source)
    assert run.status == "failed"
    assert "OAuth2 token request refused" in run.error
