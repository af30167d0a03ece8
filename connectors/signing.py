"""Signing outbound requests per Standard Webhooks (https://www.standardwebhooks.com).

A receiver verifies with any Standard Webhooks library, e.g. `Webhook(secret).verify(body, headers)`.

Secrets are written `whsec_<base64>`, as the specification and its reference libraries do. The
`whsec_` prefix is optional: a bare base64 string is the same secret (the libraries accept both).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from secrets import token_bytes

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a secret stands for; ValueError when it is not (prefixed) base64."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Padding is often left out in the wild.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError(
            "a signing secret must be base64, optionally prefixed with whsec_"
        ) from None
    if not key:
        raise ValueError("a signing secret must not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(
    secrets: list[str], msg_id: str, body: bytes, now: int | None = None
) -> dict[str, str]:
    """The three headers; one signature per secret, so during a rotation old and new both verify."""
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    timestamp = int(time.time()) if now is None else now
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(token_bytes(24)).decode()
