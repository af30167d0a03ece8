"""Schemes where the sender presents a credential rather than a signature: token, basic."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from connectors.verification.base import (
    Headers,
    InvalidVerification,
    Scheme,
    VerificationFailed,
    Verified,
    clean_text,
    same,
)

# The v1 message: one answer for a missing, a wrong and another connector's token, so that it
# does not tell an attacker which it was.
TOKEN_INVALID = "Missing or invalid token. Send `Authorization: Bearer <token>` of this endpoint."
TOKEN_PLACEHOLDER = "<your endpoint token>"


def authorization(headers: Headers, keyword: str) -> str | None:
    """The credentials of an `Authorization: <keyword> <credentials>` header, else None."""
    found, _, credentials = headers.get("Authorization").partition(" ")
    return credentials.strip() if found.lower() == keyword.lower() else None


class TokenScheme(Scheme):
    """The default: the connector's own token, `Authorization: Bearer <token>` (v1).

    With `allow_query_token`, `?token=<token>` is accepted too, for senders that can only be
    given a URL. The token is stored hashed on the connector, so the caller checks it.
    """

    name = "token"
    label = "Endpoint token"
    sender_headers = ("Authorization",)

    def verify_token(
        self,
        config: Mapping[str, Any],
        headers: Headers,
        query: Mapping[str, str],
        check_token: Callable[[str], bool],
    ) -> Verified:
        token = authorization(headers, "Bearer")
        if not token and config.get("allow_query_token"):
            token = query.get("token") or None
        if not token or not check_token(token):
            raise VerificationFailed(TOKEN_INVALID)
        return Verified(self.name)

    def sign(self, config, body: bytes, now: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN_PLACEHOLDER}"}


class BasicScheme(Scheme):
    """HTTP Basic (RFC 7617): `Authorization: Basic <base64 of username:password>`."""

    name = "basic"
    label = "HTTP Basic"
    sender_headers = ("Authorization",)
    settings = ("username", "password", "previous_password")

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        username = clean_text(data, "username", required=True, what="the username")
        if ":" in username:
            raise InvalidVerification("username", "A Basic username cannot contain a colon.")
        cleaned = {
            "username": username,
            "password": clean_text(data, "password", required=True, what="the password"),
        }
        previous = clean_text(data, "previous_password", required=False, what="")
        if previous:
            cleaned["previous_password"] = previous
        return cleaned

    def verify(self, config, headers: Headers, body: bytes, now: float) -> Verified:
        headers.require("Authorization")
        credentials = authorization(headers, "Basic")
        if credentials is None:
            raise VerificationFailed("no Authorization: Basic header")
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" not in decoded:
            raise VerificationFailed(
                "malformed Authorization header (expected Basic <base64 of username:password>)"
            )
        username, _, password = decoded.partition(":")
        candidates = [(config["password"], False)]
        if config.get("previous_password"):
            candidates.append((config["previous_password"], True))
        for expected, previous in candidates:
            # Both halves are always compared: the time taken must not tell which was wrong.
            if same(config["username"], username) & same(expected, password):
                return Verified(self.name, by_previous_secret=previous)
        raise VerificationFailed("username or password does not match")

    def sign(self, config, body: bytes, now: int) -> dict[str, str]:
        pair = f"{config['username']}:{config['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
