"""Authentication of outbound requests, beside raw headers: none, bearer, basic, API key, OAuth2.

An auth config is a plain dict (the caller stores it encrypted), e.g.
`{"type": "bearer", "token": "..."}`; `validate_auth` documents each type's keys.

OAuth2 client credentials (RFC 6749 section 4.4): the client authenticates with HTTP Basic by
default (`"client_auth": "basic"`, the method every server must support, with id and secret
form-encoded first as section 2.3.1 says); `"client_auth": "body"` sends them as form fields
instead, for servers that want that. Access tokens are cached in-process per connector and
refreshed a minute before they expire, or at once after a 401. `expires_in` is read leniently
(3600, "3600", "3600s"); a value that cannot be read keeps the token FALLBACK_TOKEN_LIFETIME.

Errors about a token request never quote the token endpoint's answer: it may hold a token, or
echo the client's credentials back. They say what was wrong, with the status code (and the
RFC 6749 error code, one of a fixed list).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

import orjson

from connectors import http
from connectors.secrets import MASK, UNDECRYPTABLE, is_undecryptable

AUTH_TYPES = ("none", "bearer", "basic", "api_key", "oauth2_client_credentials")
SECRET_KEYS = {"token", "password", "value", "client_secret"}
# Basic auth's username is shown, unless flagged secret: some APIs take their key as the
# username (Segment's write key, Stripe's secret key), and a key must never be shown.
SECRET_USERNAME = "username_secret"

API_KEY_LOCATIONS = ("header", "query")
OAUTH2_CLIENT_AUTH = ("basic", "body")

# Refresh this long before a token expires, so that it does not expire in flight.
TOKEN_REFRESH_MARGIN = 60.0
# Servers may leave `expires_in` out; such a token is kept this long (or until a 401).
DEFAULT_TOKEN_LIFETIME = 3600.0
# An `expires_in` that cannot be read: the token is kept this long, then fetched again.
FALLBACK_TOKEN_LIFETIME = 300.0
# The error codes of RFC 6749 section 5.2: safe to repeat, unlike the rest of the answer.
OAUTH2_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
# The tokens fetched recently per cache key, for redaction (kept after a 401 forgets them).
ISSUED_TOKENS_KEPT = 4


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
    - basic: username, password (may be empty), username_secret (true: the username is a key,
      kept and shown like the password)
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
        secret_username = config.get(SECRET_USERNAME, False)
        if not isinstance(secret_username, bool):
            raise ValueError(f"auth basic: '{SECRET_USERNAME}' must be true or false")
        basic = {
            "type": kind,
            "username": _text(config, "username"),
            "password": _text(config, "password", required=False),
        }
        # Written only when set, so that the documents of other basic auths stay as they were.
        return {**basic, SECRET_USERNAME: True} if secret_username else basic
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


def secret_keys(config: Mapping[str, Any] | None) -> set[str]:
    """The keys of `config` holding secrets: masked when shown, exported as references,
    redacted from texts, never put back into a form."""
    if config and config.get("type") == "basic" and config.get(SECRET_USERNAME) is True:
        return SECRET_KEYS | {"username"}
    return SECRET_KEYS


def mask_auth(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit for display: secret values replaced by the mask."""
    hidden = secret_keys(config)
    return {key: MASK if key in hidden and value else value for key, value in config.items()}


def _set_header(headers: dict[str, str], name: str, value: str) -> None:
    # Header names are case-insensitive: a raw "authorization" header must not survive beside
    # the "Authorization" set here.
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def basic_credentials(username: str, password: str) -> str:
    """The credentials of an `Authorization: Basic ...` header."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def _basic(username: str, password: str) -> str:
    return "Basic " + basic_credentials(username, password)


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


def issued_tokens(cache_key: str | None = None) -> list[str]:
    """The OAuth2 access tokens fetched recently for `cache_key` (all keys: None), for redaction."""
    return _tokens.issued(cache_key)


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
    redact=None,
    max_bytes: int = http.DEFAULT_MAX_BYTES,
    truncate: bool = False,
) -> http.Response:
    """`http.send` with credentials; an OAuth2 token refused with 401 is re-fetched once.

    `timeout` bounds the whole of it: fetching a token, the request, and the second try.
    `redact` (a connector's `Redactor.redact`) is applied to the message of a TransportError
    and to the response's excerpt, the texts people are shown.
    """
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

    try:
        with http.budget(timeout):
            response = attempt()
            if response.status == 401 and (config or {}).get("type") == "oauth2_client_credentials":
                invalidate(cache_key)
                response = attempt()
    except http.TransportError as exc:
        if redact is not None:
            exc.redact(redact)
        raise
    response.redact = redact
    return response


class TokenCache:
    """OAuth2 access tokens by (cache key, config digest), one fetch at a time per entry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._fetch_locks: dict[tuple[str, str], threading.Lock] = {}
        self._issued: dict[str, deque[str]] = {}

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
                self._issued.setdefault(cache_key, deque(maxlen=ISSUED_TOKENS_KEPT)).append(token)
            return token

    def issued(self, cache_key: str | None) -> list[str]:
        with self._lock:
            if cache_key is not None:
                return list(self._issued.get(cache_key, ()))
            return [token for tokens in self._issued.values() for token in tokens]

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
    answered = f"the token endpoint answered HTTP {response.status}"
    if not response.ok:
        verdict = http.classify(response)
        code = _oauth2_error(response)
        raise http.TransportError(
            f"OAuth2 token request refused: {answered}" + (f" ({code})" if code else ""),
            retryable=verdict == "retry",
            status=response.status,
            retry_after=response.retry_after_seconds(),
        )
    try:
        payload = response.json()
    except ValueError:
        payload = None
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        what = "is not a JSON object" if not isinstance(payload, dict) else "had no access_token"
        raise http.TransportError(
            f"OAuth2 token request: the token endpoint's answer {what} ({answered})"
        )
    expires_in = token_lifetime(payload.get("expires_in"))
    # Short-lived tokens get half their lifetime rather than a margin that would exceed it.
    return token, expires_in - min(TOKEN_REFRESH_MARGIN, expires_in / 2)


# The spaces after the number in one place only: `\s*s?\s*` shared them between two groups
# every way before failing, quadratic (6 s for 20,000 spaces and an `x`) in a token
# endpoint's answer, read after the exchange's deadline, with the GIL held.
_SECONDS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:s\s*)?", re.IGNORECASE)


def token_lifetime(expires_in: Any) -> float:
    """Seconds to keep a token: `expires_in` as a number, "3600" or "3600s"; absent, the
    DEFAULT_TOKEN_LIFETIME; anything else (or not positive), FALLBACK_TOKEN_LIFETIME."""
    if expires_in is None or expires_in == "":
        return DEFAULT_TOKEN_LIFETIME
    seconds = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        seconds = float(expires_in)
    elif isinstance(expires_in, str) and (match := _SECONDS.fullmatch(expires_in)):
        seconds = float(match.group(1))
    if seconds is None or not 0 < seconds < float("inf"):
        return FALLBACK_TOKEN_LIFETIME
    return seconds


def _oauth2_error(response: http.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return ""
    code = payload.get("error") if isinstance(payload, dict) else None
    return code if isinstance(code, str) and code in OAUTH2_ERRORS else ""
