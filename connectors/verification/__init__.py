"""Sender verification for ingest endpoints (CONTRACT v2, "Ingest sender verification").

A connector's `verification` setting names a scheme and its secrets. The ingest endpoint calls
`verify(config, request.headers, request.body, time.time(), query=request.GET,
check_token=connector.check_token)`, answers 401 `{"detail": exc.reason}` on `VerificationFailed`,
and uses `Verified.event_id` (standard_webhooks, stripe) to store a repeated event only once.

Everything here is pure: no database, no request objects, time passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connectors.secrets import MASK
from connectors.verification.base import (
    DEFAULT_TOLERANCE,
    SECRET_KEYS,
    Headers,
    InvalidVerification,
    Scheme,
    VerificationFailed,
    Verified,
)
from connectors.verification.body import GitHubScheme, HmacScheme, ShopifyScheme
from connectors.verification.credentials import BasicScheme, TokenScheme
from connectors.verification.handshakes import hub_challenge, slack_challenge
from connectors.verification.timestamped import SlackScheme, StandardWebhooksScheme, StripeScheme

REGISTRY: dict[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        TokenScheme(),
        StandardWebhooksScheme(),
        StripeScheme(),
        GitHubScheme(),
        ShopifyScheme(),
        SlackScheme(),
        HmacScheme(),
        BasicScheme(),
    )
}
DEFAULT = {"scheme": "token", "allow_query_token": False}
COMMON_SETTINGS = ("scheme", "allow_query_token")

__all__ = [
    "DEFAULT",
    "DEFAULT_TOLERANCE",
    "REGISTRY",
    "InvalidVerification",
    "VerificationFailed",
    "Verified",
    "clean_verification",
    "hub_challenge",
    "mask_verification",
    "merge_masked",
    "sign_example",
    "slack_challenge",
    "verify",
]


def clean_verification(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The setting checked, with only its scheme's keys and their defaults; InvalidVerification
    names the first wrong field. Nothing (None or {}) is the default, the endpoint token."""
    if not data:
        return dict(DEFAULT)
    if not isinstance(data, Mapping):
        raise InvalidVerification(
            "", 'Write an object, e.g. {"scheme": "github", "secret": "..."}.'
        )
    name = data.get("scheme", "token")
    if name not in REGISTRY:
        raise InvalidVerification(
            "scheme", f"Unknown scheme {name!r}; use one of {', '.join(REGISTRY)}."
        )
    scheme = REGISTRY[name]
    known = (
        *COMMON_SETTINGS,
        *scheme.settings,
        *(("tolerance_seconds",) if scheme.has_timestamp else ()),
    )
    for key in data:
        if key not in known:
            raise InvalidVerification(
                key, f"The {name} scheme has no setting '{key}'; it takes {', '.join(known)}."
            )
    allow_query_token = data.get("allow_query_token", False)
    if not isinstance(allow_query_token, bool):
        raise InvalidVerification("allow_query_token", "Use true or false.")
    return {"scheme": name, **scheme.clean(data), "allow_query_token": allow_query_token}


def verify(
    config: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    raw_body: bytes,
    now: float | datetime,
    *,
    query: Mapping[str, str] | None = None,
    check_token: Callable[[str], bool] | None = None,
) -> Verified:
    """Check that a request comes from the configured sender, over the raw body bytes.

    `config` is a cleaned setting (as stored); `now` a Unix time or an aware datetime.
    `check_token` checks the endpoint token (the token scheme needs it: only the token's hash
    is stored). Raises VerificationFailed with a reason fit for the 401 answer.
    """
    config = config or DEFAULT
    scheme = REGISTRY[config["scheme"]]
    request_headers = Headers(headers)
    if isinstance(scheme, TokenScheme):
        if check_token is None:
            raise TypeError("the token scheme needs check_token to check the endpoint token")
        return scheme.verify_token(config, request_headers, query or {}, check_token)
    seconds = now.timestamp() if isinstance(now, datetime) else now
    return scheme.verify(config, request_headers, raw_body, seconds)


def sign_example(
    config: Mapping[str, Any] | None, body: bytes, now: float | datetime
) -> dict[str, str]:
    """The headers a correct sender sends with `body` at `now` (for an example request, tests).

    The token scheme has only a placeholder: the token itself is not stored.
    """
    config = config or DEFAULT
    seconds = int(now.timestamp() if isinstance(now, datetime) else now)
    return REGISTRY[config["scheme"]].sign(config, body, seconds)


def mask_verification(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy fit for display: every secret replaced by the mask."""
    return {
        key: MASK if key in SECRET_KEYS and value else value
        for key, value in (config or DEFAULT).items()
    }


def merge_masked(stored: Mapping[str, Any] | None, incoming: Mapping[str, Any]) -> dict[str, Any]:
    """A secret sent back masked keeps its stored value, so a form can round-trip the setting.

    Absent or null, `previous_secret` is removed: the setting is written whole.
    """
    if not isinstance(incoming, Mapping):
        return incoming
    stored = stored or {}
    same_scheme = stored.get("scheme", "token") == incoming.get("scheme", "token")
    merged = {}
    for key, value in incoming.items():
        if value == MASK and key in SECRET_KEYS:
            if not (same_scheme and stored.get(key)):
                raise InvalidVerification(key, "No secret is stored to keep; enter it.")
            value = stored[key]
        merged[key] = value
    return merged
