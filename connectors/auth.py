"""Authentication of outbound requests, beside raw headers: none, bearer, basic, API key, OAuth2.

An auth config is a plain dict (the caller stores it encrypted), e.g.
`{"type": "bearer", "token": "..."}`; `validate_auth` documents each type's keys.

OAuth2 client credentials (RFC 6749 section 4.4): the client authenticates with HTTP Basic by
default (`"client_auth": "basic"`, the method every server must support, with id and secret
form-encoded first as section 2.3.1 says); `"client_auth": "body"` sends them as form fields
instead, for servers that want that. Access tokens are cached in-process per connector and
refreshed a minute before they expire, or at once after a 401.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson

from connectors import http
from connectors.secrets import MASK, UNDECRYPTABLE, is_undecryptable

AUTH_TYPES = ("none", "bearer", "basic", "api_key", "oauth2_client_credentials")
SECRET_KEYS = {"token", "password", "value", "client_secret"}

API_KEY_LOCATIONS = ("header", "query")
OAUTH2_CLIENT_AUTH = ("basic", "body")

# Refresh this long before a token expires, so that it does not expire in flight.
TOKEN_REFRESH_MARGIN = 60.0
# Servers may leave `expires_in` out; such a token is kept this long (or until a 401).
DEFAULT_TOKEN_LIFETIME = 3600.0


def _text(config: Mapping[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    value = config.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise ValueError(f"auth {config.get('type')}: '{key}' must be a string")
    if required and not value:
        raise ValueError(f"auth {config.get('type')}: '{key}' is required")
    return value


def _header_safe(kind: str, key: str, value: str) -> str:
    problem = http.header_problem("Authorization", value)
    if problem:
        raise ValueError(f"auth {kind}: '{key}' cannot be sent in a header: {problem}")
    return value


def validate_auth(config: Mapping[str, Any] | None) -> dict[str, str]:
    """The config with only its type's keys and defaults filled in; ValueError naming what is wrong.

    - none
    - bearer: token
    - basic: username, password (may be empty)
    - api_key: in ("header" default, or "query"), name ("X-Api-Key" default in a header), value
    - oauth2_client_credentials: token_url, client_id, client_secret, scope (optional),
      audience (optional), client_auth ("basic" default, or "body")
    """
    if not config:
        return {"type": "none"}
    kind = config.get("type")
    if kind not in AUTH_TYPES:
        raise ValueError(f"auth 'type' must be one of {', '.join(AUTH_TYPES)}; got {kind!r}")
    if kind == "none":
        return {"type": "none"}
    if kind == "bearer":
        return {"type": kind, "token": _header_safe(kind, "token", _text(config, "token"))}
    if kind == "basic":
        return {
            "type": kind,
            "username": _text(config, "username"),
            "password": _text(config, "password", required=False),
        }
    if kind == "api_key":
        location = _text(config, "in", default="header")
        if location not in API_KEY_LOCATIONS:
            raise ValueError(f"auth api_key: 'in' must be header or query; got {location!r}")
        default_name = "X-Api-Key" if location == "header" else ""
        name, value = _text(config, "name", default=default_name), _text(config, "value")
        if location == "header":
            problem = http.header_problem(name, value)
            if problem:
                raise ValueError(f"auth api_key: {problem}")
        return {"type": kind, "in": location, "name": name, "value": value}
    client_auth = _text(config, "client_auth", default="basic")
    if client_auth not in OAUTH2_CLIENT_AUTH:
        raise ValueError(
            f"auth oauth2_client_credentials: 'client_auth' must be basic or body; got {client_auth!r}"
        )
    token_url = _text(config, "token_url")
    try:
        http.destination(token_url)
    except http.InvalidDestination as exc:
        raise ValueError(f"auth oauth2_client_credentials: 'token_url' {exc.message}") from exc
    return {
        "type": kind,
        "token_url": token_url,
        "client_id": _text(config, "client_id"),
        "client_secret": _text(config, "client_secret"),
        "scope": _text(config, "scope", required=False),
        "audience": _text(config, "audience", required=False),
        "client_auth": client_auth,
    }


def mask_auth(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit for display: secret values replaced by the mask."""
    return {key: MASK if key in SECRET_KEYS and value else value for key, value in config.items()}


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    # Header names are case-insensitive: a raw "authorization" header must not survive beside
    # the "Authorization" set here.
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def apply_auth(
    config: Mapping[str, Any],
    headers: dict[str, str],
    params: dict[str, Any],
    *,
    cache_key: str,
    timeout: float = http.DEFAULT_TIMEOUT,
) -> None:
    """Add the credentials `config` describes to `headers` / `params` (fetching an OAuth2 token)."""
    config = validate_auth(config)
    kind = config["type"]
    if kind == "bearer":
        _set_header(headers, "Authorization", f"Bearer {config['token']}")
    elif kind == "basic":
        _set_header(headers, "Authorization", _basic(config["username"], config["password"]))
    elif kind == "api_key" and config["in"] == "header":
        _set_header(headers, config["name"], config["value"])
    elif kind == "api_key":
        params[config["name"]] = config["value"]
    elif kind == "oauth2_client_credentials":
        token = _tokens.get(config, cache_key, timeout)
        _set_header(headers, "Authorization", f"Bearer {token}")


def invalidate(cache_key: str) -> None:
    """Forget the cached OAuth2 tokens of `cache_key` (after a 401, or when the config changes)."""
    _tokens.invalidate(cache_key)


def send_with_auth(
    config: Mapping[str, Any],
    method: str,
    url: str,
    *,
    cache_key: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    params: Mapping[str, Any] | None = None,
    timeout: float = http.DEFAULT_TIMEOUT,
    max_bytes: int = http.DEFAULT_MAX_BYTES,
    truncate: bool = False,
) -> http.Response:
    """`http.send` with credentials; an OAuth2 token refused with 401 is re-fetched once.

    `timeout` bounds the whole of it: fetching a token, the request, and the second try."""
    if is_undecryptable(config) or any(map(is_undecryptable, (headers or {}).values())):
        # Never send a request missing a secret the connector was configured with.
        raise http.TransportError(
            f"A stored secret {UNDECRYPTABLE}: restore the old key in FIELD_ENCRYPTION_KEY, "
            "or enter the connector's secrets again.",
            retryable=False,
        )

    def attempt() -> http.Response:
        request_headers = dict(headers or {})
        request_params = dict(params or {})
        apply_auth(config, request_headers, request_params, cache_key=cache_key, timeout=timeout)
        return http.send(
            method,
            url,
            headers=request_headers,
            body=body,
            params=request_params,
            timeout=timeout,
            max_bytes=max_bytes,
            truncate=truncate,
        )

    with http.budget(timeout):
        response = attempt()
        if response.status == 401 and (config or {}).get("type") == "oauth2_client_credentials":
            invalidate(cache_key)
            response = attempt()
    return response


class TokenCache:
    """OAuth2 access tokens by (cache key, config digest), one fetch at a time per entry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._fetch_locks: dict[tuple[str, str], threading.Lock] = {}

    def get(self, config: dict[str, str], cache_key: str, timeout: float) -> str:
        # The digest makes an edited config (new secret, new scope) fetch a new token.
        key = (
            cache_key,
            hashlib.sha256(orjson.dumps(config, option=orjson.OPT_SORT_KEYS)).hexdigest(),
        )
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        # Threads wanting the same token wait for one fetch instead of each making their own.
        with fetch_lock:
            with self._lock:
                cached = self._tokens.get(key)
            if cached is not None and time.time() < cached[1]:
                return cached[0]
            token, lifetime = fetch_token(config, timeout)
            with self._lock:
                self._tokens[key] = (token, time.time() + lifetime)
            return token

    def invalidate(self, cache_key: str) -> None:
        with self._lock:
            for key in [key for key in self._tokens if key[0] == cache_key]:
                del self._tokens[key]


_tokens = TokenCache()


def fetch_token(config: dict[str, str], timeout: float) -> tuple[str, float]:
    """Ask the token endpoint; the access token and how long to keep it (seconds)."""
    form = {"grant_type": "client_credentials"}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    if config["client_auth"] == "basic":
        headers["Authorization"] = _basic(
            quote_plus(config["client_id"]), quote_plus(config["client_secret"])
        )
    else:
        form["client_id"] = config["client_id"]
        form["client_secret"] = config["client_secret"]
    for key in ("scope", "audience"):
        if config[key]:
            form[key] = config[key]
    response = http.send(
        "POST", config["token_url"], headers=headers, body=urlencode(form).encode(), timeout=timeout
    )
    if not response.ok:
        verdict = http.classify(response)
        raise http.TransportError(
            f"OAuth2 token request refused: HTTP {response.status} {response.excerpt(500)}",
            retryable=verdict == "retry",
            status=response.status,
            retry_after=response.retry_after_seconds(),
            response=response,
        )
    try:
        payload = response.json()
        token = payload["access_token"]
        expires_in = float(payload.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise http.TransportError(
            f"OAuth2 token response has no usable access_token: {response.excerpt(500)}",
            response=response,
        ) from exc
    if not isinstance(token, str) or not token:
        raise http.TransportError("OAuth2 token response has an empty access_token")
    # Short-lived tokens get half their lifetime rather than a margin that would exceed it.
    return token, expires_in - min(TOKEN_REFRESH_MARGIN, expires_in / 2)
