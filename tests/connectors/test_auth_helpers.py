from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from werkzeug import Request
from werkzeug import Response as WerkzeugResponse

from connectors import auth, http
from tests.hostile_peers import Peer, drip


@pytest.fixture(autouse=True)
def allow_private(settings):
    # The peers of these tests run on 127.0.0.1.
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture
def cache_key(request):
    # Tokens are cached per process: each test gets its own entry.
    key = f"test:{request.node.name}"
    yield key
    auth.invalidate(key)


class TokenEndpoint:
    """An OAuth2 token endpoint issuing tok-1, tok-2, ... and keeping the requests it got."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> WerkzeugResponse:
        request.get_data()
        self.requests.append(request)
        token = f"tok-{len(self.requests)}"
        return WerkzeugResponse(
            f'{{"access_token": "{token}", "token_type": "Bearer", "expires_in": {self.expires_in}}}',
            content_type="application/json",
        )


def oauth2_config(httpserver, **extra) -> dict:
    return {
        "type": "oauth2_client_credentials",
        "token_url": httpserver.url_for("/token"),
        "client_id": "alice-client",
        "client_secret": "s3cret",
        **extra,
    }


def authorizations(httpserver, path="/api") -> list[str | None]:
    return [
        request.headers.get("Authorization")
        for request, _ in httpserver.log
        if request.path == path
    ]


# --- Static credentials --------------------------------------------------------------------------


def test_it_sends_no_credentials_for_none(httpserver, cache_key):
    httpserver.expect_request("/api").respond_with_data("ok")

    auth.send_with_auth({"type": "none"}, "GET", httpserver.url_for("/api"), cache_key=cache_key)

    assert authorizations(httpserver) == [None]


def test_it_sends_a_bearer_token(httpserver, cache_key):
    httpserver.expect_request("/api", headers={"Authorization": "Bearer abc123"}).respond_with_data(
        "ok"
    )

    response = auth.send_with_auth(
        {"type": "bearer", "token": "abc123"},
        "POST",
        httpserver.url_for("/api"),
        body=b"{}",
        cache_key=cache_key,
    )

    assert response.status == 200


def test_it_sends_basic_credentials(httpserver, cache_key):
    httpserver.expect_request("/api").respond_with_data("ok")

    auth.send_with_auth(
        {"type": "basic", "username": "alice", "password": "pä:ss"},
        "GET",
        httpserver.url_for("/api"),
        cache_key=cache_key,
    )

    expected = "Basic " + base64.b64encode("alice:pä:ss".encode()).decode()
    assert authorizations(httpserver) == [expected]


def test_it_sends_an_api_key_in_a_header(httpserver, cache_key):
    httpserver.expect_request("/api", headers={"X-Token": "k-1"}).respond_with_data("ok")

    response = auth.send_with_auth(
        {"type": "api_key", "in": "header", "name": "X-Token", "value": "k-1"},
        "GET",
        httpserver.url_for("/api"),
        cache_key=cache_key,
    )

    assert response.status == 200


def test_it_sends_an_api_key_in_the_query(httpserver, cache_key):
    httpserver.expect_request(
        "/api", query_string={"page": "2", "api_key": "k-2"}
    ).respond_with_data("ok")

    response = auth.send_with_auth(
        {"type": "api_key", "in": "query", "name": "api_key", "value": "k-2"},
        "GET",
        httpserver.url_for("/api"),
        params={"page": "2"},
        cache_key=cache_key,
    )

    assert response.status == 200


def test_it_replaces_a_raw_authorization_header_whatever_its_case(cache_key):
    headers = {"authorization": "Bearer stale", "Accept": "application/json"}
    params: dict = {}

    auth.apply_auth({"type": "bearer", "token": "fresh"}, headers, params, cache_key=cache_key)

    assert headers == {"Accept": "application/json", "Authorization": "Bearer fresh"}
    assert params == {}


def test_it_does_not_retry_a_401_for_static_credentials(httpserver, cache_key):
    httpserver.expect_request("/api").respond_with_data("no", status=401)

    response = auth.send_with_auth(
        {"type": "bearer", "token": "wrong"}, "GET", httpserver.url_for("/api"), cache_key=cache_key
    )

    assert response.status == 401
    assert len(httpserver.log) == 1


# --- OAuth2 client credentials -------------------------------------------------------------------


def test_it_fetches_an_oauth2_token_once_and_reuses_it(httpserver, cache_key):
    tokens = TokenEndpoint()
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request("/api").respond_with_data("ok")
    config = oauth2_config(httpserver, scope="read write", audience="https://api.example")

    for _ in range(2):
        auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key)

    assert authorizations(httpserver) == ["Bearer tok-1", "Bearer tok-1"]
    [token_request] = tokens.requests
    assert token_request.form.to_dict() == {
        "grant_type": "client_credentials",
        "scope": "read write",
        "audience": "https://api.example",
    }
    assert token_request.authorization.username == "alice-client"
    assert token_request.authorization.password == "s3cret"


def test_it_refreshes_the_token_a_minute_before_it_expires(httpserver, cache_key):
    tokens = TokenEndpoint(expires_in=3600)
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request("/api").respond_with_data("ok")
    config = oauth2_config(httpserver)
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=False) as clock:
        auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key)
        clock.move_to(start + timedelta(seconds=3530))
        auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key)
        clock.move_to(start + timedelta(seconds=3545))
        auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key)

    assert authorizations(httpserver) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_it_fetches_a_new_token_once_after_a_401(httpserver, cache_key):
    tokens = TokenEndpoint()
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)

    def api(request: Request) -> WerkzeugResponse:
        if request.headers.get("Authorization") == "Bearer tok-2":
            return WerkzeugResponse("ok")
        return WerkzeugResponse("token revoked", status=401)

    httpserver.expect_request("/api").respond_with_handler(api)
    config = oauth2_config(httpserver)

    response = auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key)

    assert response.status == 200
    assert authorizations(httpserver) == ["Bearer tok-1", "Bearer tok-2"]


def test_it_gives_up_after_one_retry_on_401(httpserver, cache_key):
    tokens = TokenEndpoint()
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request("/api").respond_with_data("never", status=401)

    response = auth.send_with_auth(
        oauth2_config(httpserver), "GET", httpserver.url_for("/api"), cache_key=cache_key
    )

    assert response.status == 401
    assert len(tokens.requests) == 2
    assert authorizations(httpserver) == ["Bearer tok-1", "Bearer tok-2"]


def test_it_keeps_tokens_apart_per_cache_key(httpserver, cache_key):
    tokens = TokenEndpoint()
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request("/api").respond_with_data("ok")
    config = oauth2_config(httpserver)

    auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key)
    auth.send_with_auth(config, "GET", httpserver.url_for("/api"), cache_key=cache_key + ":other")
    auth.invalidate(cache_key + ":other")

    assert authorizations(httpserver) == ["Bearer tok-1", "Bearer tok-2"]


def test_it_sends_client_credentials_in_the_body_when_asked(httpserver, cache_key):
    tokens = TokenEndpoint()
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    config = oauth2_config(httpserver, client_auth="body")

    headers: dict = {}
    auth.apply_auth(config, headers, {}, cache_key=cache_key)

    assert headers == {"Authorization": "Bearer tok-1"}
    [token_request] = tokens.requests
    assert token_request.authorization is None
    assert token_request.form.to_dict() == {
        "grant_type": "client_credentials",
        "client_id": "alice-client",
        "client_secret": "s3cret",
    }


def test_it_form_encodes_basic_client_credentials(httpserver, cache_key):
    # RFC 6749 section 2.3.1: id and secret are form-encoded before Basic encoding.
    tokens = TokenEndpoint()
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    config = oauth2_config(httpserver, client_id="svc:1", client_secret="a b/c+d")

    auth.apply_auth(config, {}, {}, cache_key=cache_key)

    assert tokens.requests[0].authorization.username == "svc%3A1"
    assert tokens.requests[0].authorization.password == "a+b%2Fc%2Bd"


def test_it_reports_a_refused_token_request(httpserver, cache_key):
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"error": "invalid_client"}, status=401
    )

    with pytest.raises(http.TransportError, match="invalid_client") as caught:
        auth.apply_auth(oauth2_config(httpserver), {}, {}, cache_key=cache_key)
    assert caught.value.status == 401
    assert caught.value.retryable is False


def test_it_reports_a_token_response_without_a_token(httpserver, cache_key):
    httpserver.expect_request("/token", method="POST").respond_with_json({"token_type": "Bearer"})

    with pytest.raises(http.TransportError) as caught:
        auth.apply_auth(oauth2_config(httpserver), {}, {}, cache_key=cache_key)
    assert caught.value.message == (
        "OAuth2 token request: the token endpoint's answer had no access_token "
        "(the token endpoint answered HTTP 200)"
    )


def test_it_never_quotes_the_token_endpoints_answer(httpserver, cache_key):
    # An answer echoing the client's credentials, or holding a token, whatever its status.
    echoed = {"error": "server_error", "access_token": "leaked-token", "client_secret": "s3cret"}
    httpserver.expect_request("/token", method="POST").respond_with_json(echoed, status=500)

    with pytest.raises(http.TransportError) as caught:
        auth.apply_auth(oauth2_config(httpserver), {}, {}, cache_key=cache_key)
    assert caught.value.message == (
        "OAuth2 token request refused: the token endpoint answered HTTP 500"
    )
    assert caught.value.response is None
    assert caught.value.retryable is True


def test_an_odd_expires_in_still_gives_the_token(httpserver, cache_key):
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "tok-1", "token_type": "Bearer", "expires_in": "3600s"}
    )
    headers: dict[str, str] = {}

    auth.apply_auth(oauth2_config(httpserver), headers, {}, cache_key=cache_key)

    assert headers["Authorization"] == "Bearer tok-1"
    assert auth.issued_tokens(cache_key) == ["tok-1"]


@pytest.mark.parametrize(
    ("expires_in", "seconds"),
    [
        (3600, 3600.0),
        (90.5, 90.5),
        ("3600", 3600.0),
        ("3600s", 3600.0),
        (" 120 S ", 120.0),
        (None, auth.DEFAULT_TOKEN_LIFETIME),
        ("", auth.DEFAULT_TOKEN_LIFETIME),
        ("an hour", auth.FALLBACK_TOKEN_LIFETIME),
        ("1h", auth.FALLBACK_TOKEN_LIFETIME),
        (0, auth.FALLBACK_TOKEN_LIFETIME),
        (-5, auth.FALLBACK_TOKEN_LIFETIME),
        (True, auth.FALLBACK_TOKEN_LIFETIME),
        ([3600], auth.FALLBACK_TOKEN_LIFETIME),
        (float("inf"), auth.FALLBACK_TOKEN_LIFETIME),
    ],
)
def test_it_reads_expires_in_leniently(expires_in, seconds):
    assert auth.token_lifetime(expires_in) == seconds


def test_it_reads_an_expires_in_made_to_be_slow_to_match_at_once(httpserver, cache_key):
    # 30,000 spaces between a number and an `x`: each split of them was tried (13 s).
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "tok-1", "expires_in": "1" + " " * 30_000 + "x"}
    )
    headers: dict[str, str] = {}
    started = time.monotonic()

    auth.apply_auth(oauth2_config(httpserver), headers, {}, cache_key=cache_key)

    assert time.monotonic() - started < 2
    assert headers["Authorization"] == "Bearer tok-1"


def test_it_sends_token_requests_through_the_ssrf_guard(httpserver, settings, cache_key):
    settings.ALLOW_PRIVATE_DESTINATIONS = False
    httpserver.expect_request("/token").respond_with_json({"access_token": "x"})

    with pytest.raises(http.UnsafeDestination):
        auth.apply_auth(oauth2_config(httpserver), {}, {}, cache_key=cache_key)
    assert httpserver.log == []


# --- Validation and display ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "bearer"}, "'token' is required"),
        ({"type": "bearer", "token": 42}, "'token' must be a string"),
        ({"type": "basic", "password": "x"}, "'username' is required"),
        ({"type": "api_key", "in": "header", "name": "X-Key"}, "'value' is required"),
        ({"type": "api_key", "in": "cookie", "name": "k", "value": "v"}, "'in' must be"),
        ({"type": "api_key", "in": "query", "value": "v"}, "'name' is required"),
        ({"type": "oauth2_client_credentials", "token_url": "https://a.example/t"}, "'client_id'"),
        (
            {
                "type": "oauth2_client_credentials",
                "token_url": "ftp://a.example/t",
                "client_id": "i",
                "client_secret": "s",
            },
            "'token_url'",
        ),
        ({"type": "digest"}, "must be one of none, bearer, basic"),
        ({"token": "abc"}, "'type' must be one of"),
    ],
)
def test_it_names_what_is_wrong_with_a_config(config, message):
    with pytest.raises(ValueError, match=message):
        auth.validate_auth(config)


def test_it_normalises_configs():
    assert auth.validate_auth(None) == {"type": "none"}
    assert auth.validate_auth({"type": "api_key", "value": "v", "extra": 1}) == {
        "type": "api_key",
        "in": "header",
        "name": "X-Api-Key",
        "value": "v",
    }
    assert auth.validate_auth(
        {
            "type": "oauth2_client_credentials",
            "token_url": "https://auth.example/token",
            "client_id": "i",
            "client_secret": "s",
        }
    ) == {
        "type": "oauth2_client_credentials",
        "token_url": "https://auth.example/token",
        "client_id": "i",
        "client_secret": "s",
        "scope": "",
        "audience": "",
        "client_auth": "basic",
    }


def test_it_masks_secrets_for_display():
    config = {
        "type": "oauth2_client_credentials",
        "token_url": "https://auth.example/token",
        "client_id": "i",
        "client_secret": "s",
        "scope": "",
    }

    assert auth.mask_auth(config) == {**config, "client_secret": "********"}
    assert auth.mask_auth({"type": "basic", "username": "alice", "password": "pw"}) == {
        "type": "basic",
        "username": "alice",
        "password": "********",
    }
    assert config["client_secret"] == "s"


def test_it_ends_a_token_request_dripped_by_the_token_endpoint_at_the_timeout(cache_key):
    with Peer(drip(body_length=1000, every=0.2)) as token_endpoint:
        config = {
            "type": "oauth2_client_credentials",
            "token_url": token_endpoint.url("/token"),
            "client_id": "alice-client",
            "client_secret": "s3cret",
        }
        started = time.monotonic()
        with pytest.raises(http.TransportError, match="took longer than 1 s") as caught:
            auth.apply_auth(config, {}, {}, cache_key=cache_key, timeout=1)

    assert time.monotonic() - started < 1 + 1.0
    assert caught.value.retryable is True


def test_it_bounds_the_token_fetch_and_the_request_by_one_timeout(httpserver, cache_key):
    # The token endpoint takes 0.8 s, the API 0.8 s: each alone fits in 1.2 s, both do not.
    def slow_token(request: Request) -> WerkzeugResponse:
        time.sleep(0.8)
        return TokenEndpoint()(request)

    def slow_api(request: Request) -> WerkzeugResponse:
        time.sleep(0.8)
        return WerkzeugResponse("late")

    httpserver.expect_request("/token").respond_with_handler(slow_token)
    httpserver.expect_request("/api").respond_with_handler(slow_api)

    started = time.monotonic()
    with pytest.raises(http.TransportError, match=r"took longer than 1\.2 s"):
        auth.send_with_auth(
            oauth2_config(httpserver),
            "GET",
            httpserver.url_for("/api"),
            cache_key=cache_key,
            timeout=1.2,
        )
    assert time.monotonic() - started < 1.2 + 0.5
    # The API logs the request when its handler returns: wait for it, or it lands in the log of
    # whichever test runs next.
    while len(httpserver.log) < 2 and time.monotonic() - started < 5:
        time.sleep(0.05)
