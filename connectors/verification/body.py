"""Schemes that sign the raw body alone: GitHub, Shopify and a configurable HMAC.

They carry no timestamp, so a captured request stays valid; senders that offer a timestamped
scheme (Standard Webhooks, Stripe, Slack) are safer against replays.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from connectors.verification.base import (
    HEADER_NAME,
    Headers,
    InvalidVerification,
    SecretScheme,
    VerificationFailed,
    Verified,
    clean_text,
    hmac_digest,
)

ALGORITHMS = ("sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64")


def encode(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


class HmacScheme(SecretScheme):
    """HMAC of the body in one header: `<prefix><hex or base64 digest>`."""

    name = "hmac"
    label = "HMAC of the body"
    settings = ("secret", "previous_secret", "header", "algorithm", "encoding", "prefix")

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = super().clean(data)
        header = clean_text(
            data, "header", required=True, what="the header that carries the signature"
        )
        if not HEADER_NAME.match(header):
            raise InvalidVerification("header", f"'{header}' is not a valid HTTP header name.")
        algorithm = data.get("algorithm") or "sha256"
        if algorithm not in ALGORITHMS:
            raise InvalidVerification("algorithm", f"Use one of {', '.join(ALGORITHMS)}.")
        encoding = data.get("encoding") or "hex"
        if encoding not in ENCODINGS:
            raise InvalidVerification("encoding", f"Use one of {', '.join(ENCODINGS)}.")
        prefix = data.get("prefix") or ""
        if not isinstance(prefix, str) or not prefix.isprintable() or prefix != prefix.strip():
            raise InvalidVerification("prefix", "Write the text before the digest, e.g. sha256=.")
        return {
            **cleaned,
            "header": header,
            "algorithm": algorithm,
            "encoding": encoding,
            "prefix": prefix,
        }

    def options(self, config: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return config["header"], config["algorithm"], config["encoding"], config["prefix"]

    def expected(self, config: Mapping[str, Any], secret: str, body: bytes) -> str:
        _, algorithm, encoding, prefix = self.options(config)
        return prefix + encode(hmac_digest(secret.encode(), body, algorithm), encoding)

    def verify(self, config, headers: Headers, body: bytes, now: float) -> Verified:
        header, _, encoding, prefix = self.options(config)
        value = headers.require(header)
        if not value.startswith(prefix):
            raise VerificationFailed(f"malformed {header} header (it does not start with {prefix})")
        if encoding == "hex":
            # Hex digits may come in either case; the digest is the same.
            value = prefix + value[len(prefix) :].lower()
        return self.match(config, lambda secret: self.expected(config, secret, body), [value])

    def sign(self, config, body: bytes, now: int) -> dict[str, str]:
        return {self.options(config)[0]: self.expected(config, config["secret"], body)}


class GitHubScheme(HmacScheme):
    """GitHub webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`."""

    name = "github"
    label = "GitHub"
    sender_headers = ("X-Hub-Signature-256",)
    settings = ("secret", "previous_secret")

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return SecretScheme.clean(self, data)

    def options(self, config: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return "X-Hub-Signature-256", "sha256", "hex", "sha256="


class ShopifyScheme(GitHubScheme):
    """Shopify webhooks: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`."""

    name = "shopify"
    label = "Shopify"
    sender_headers = ("X-Shopify-Hmac-Sha256",)

    def options(self, config: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return "X-Shopify-Hmac-Sha256", "sha256", "base64", ""
