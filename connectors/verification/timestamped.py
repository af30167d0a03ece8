"""Schemes that sign a timestamp with the body: Standard Webhooks, Stripe, Slack.

The timestamp bounds a replay to `tolerance_seconds` either way; within it, Standard Webhooks and
Stripe give an event id the endpoint uses to store a repeat only once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from connectors import signing
from connectors.verification.base import (
    Headers,
    InvalidVerification,
    SecretScheme,
    VerificationFailed,
    Verified,
    check_timestamp,
    hmac_digest,
    parse_timestamp,
)


class StandardWebhooksScheme(SecretScheme):
    """https://www.standardwebhooks.com: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""

    name = "standard_webhooks"
    label = "Standard Webhooks"
    sender_headers = ("webhook-id", "webhook-timestamp", "webhook-signature")
    has_timestamp = True

    def clean_secret(self, data: Mapping[str, Any], key: str, *, required: bool) -> str:
        secret = super().clean_secret(data, key, required=required)
        if secret:
            try:
                signing.secret_bytes(secret)
            except ValueError:
                raise InvalidVerification(
                    key, "A Standard Webhooks secret is base64, usually written whsec_<base64>."
                ) from None
        return secret

    def header(self, headers: Headers, name: str) -> str:
        # Svix, the reference implementation, sends the same headers named svix-*.
        return (
            headers.get(f"webhook-{name}")
            or headers.get(f"svix-{name}")
            or headers.require(f"webhook-{name}")
        )

    def verify(self, config, headers: Headers, body: bytes, now: float) -> Verified:
        msg_id = self.header(headers, "id")
        timestamp = parse_timestamp(self.header(headers, "timestamp"), "webhook-timestamp")
        presented = [
            signature.removeprefix("v1,")
            for signature in self.header(headers, "signature").split()
            if signature.startswith("v1,")
        ]
        if not presented:
            raise VerificationFailed("no v1 signature in the webhook-signature header")
        verified = self.match(
            config,
            lambda secret: signing.sign(secret, msg_id, timestamp, body).removeprefix("v1,"),
            presented,
            event_id=msg_id,
        )
        check_timestamp(timestamp, now, config["tolerance_seconds"])
        return verified

    def sign(self, config, body: bytes, now: int, msg_id: str = "") -> dict[str, str]:
        msg_id = msg_id or "msg_" + hashlib.sha256(f"{now}.".encode() + body).hexdigest()[:24]
        return signing.signature_headers([config["secret"]], msg_id, body, now)


class StripeScheme(SecretScheme):
    """Stripe: `Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`, as stripe-python.

    The key is the `whsec_...` secret as written (UTF-8), not its base64 decoding.
    """

    name = "stripe"
    label = "Stripe"
    sender_headers = ("Stripe-Signature",)
    has_timestamp = True

    def verify(self, config, headers: Headers, body: bytes, now: float) -> Verified:
        timestamp, presented = self.parse(headers.require("Stripe-Signature"))
        verified = self.match(
            config, lambda secret: self.expected(secret, timestamp, body), presented
        )
        check_timestamp(timestamp, now, config["tolerance_seconds"])
        # Only a verified body is read: anyone may send a 10 MB one with a made-up signature.
        return dataclasses.replace(verified, event_id=event_id(body))

    def parse(self, header: str) -> tuple[int, list[str]]:
        items = [item.strip().partition("=") for item in header.split(",")]
        timestamps = [value for key, _, value in items if key == "t"]
        if len(timestamps) != 1:
            raise VerificationFailed("malformed Stripe-Signature header (no t=<timestamp>)")
        timestamp = parse_timestamp(timestamps[0], "Stripe-Signature")
        # Stripe sends one v1 per active secret while a secret is rolled; any may match.
        presented = [value.lower() for key, _, value in items if key == "v1"]
        if not presented:
            raise VerificationFailed("malformed Stripe-Signature header (no v1 signature)")
        return timestamp, presented

    def expected(self, secret: str, timestamp: int, body: bytes) -> str:
        return hmac_digest(secret.encode(), f"{timestamp}.".encode() + body).hex()

    def sign(self, config, body: bytes, now: int) -> dict[str, str]:
        return {"Stripe-Signature": f"t={now},v1={self.expected(config['secret'], now, body)}"}


def event_id(body: bytes) -> str | None:
    """The `id` of a Stripe event body; None when the body has none (nothing to de-duplicate)."""
    try:
        # orjson, not json: json raises RecursionError (a 500) on a deeply nested body, where
        # orjson stops at 1,024 levels with its JSONDecodeError.
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) and value else None


class SlackScheme(SecretScheme):
    """Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<ts>:<body>">` and its timestamp."""

    name = "slack"
    label = "Slack"
    sender_headers = ("X-Slack-Signature", "X-Slack-Request-Timestamp")
    has_timestamp = True

    def verify(self, config, headers: Headers, body: bytes, now: float) -> Verified:
        signature = headers.require("X-Slack-Signature")
        if not signature.startswith("v0="):
            raise VerificationFailed("malformed X-Slack-Signature header (expected v0=<hex>)")
        raw_timestamp = headers.require("X-Slack-Request-Timestamp")
        timestamp = parse_timestamp(raw_timestamp, "X-Slack-Request-Timestamp")
        verified = self.match(
            config,
            lambda secret: self.expected(secret, raw_timestamp, body),
            ["v0=" + signature[3:].lower()],
        )
        check_timestamp(timestamp, now, config["tolerance_seconds"])
        return verified

    def expected(self, secret: str, timestamp: str, body: bytes) -> str:
        return "v0=" + hmac_digest(secret.encode(), f"v0:{timestamp}:".encode() + body).hex()

    def sign(self, config, body: bytes, now: int) -> dict[str, str]:
        return {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": self.expected(config["secret"], str(now), body),
        }
