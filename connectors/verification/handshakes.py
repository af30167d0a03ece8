"""Handshakes some senders make before they send events, as pure functions.

- Slack's Events API posts `{"type": "url_verification", "challenge": "..."}` when its Request
  URL is saved and wants the challenge back. Slack signs it, so verify first, then answer.
- WebSub, and Meta's webhooks after it, confirm a subscription with
  `GET ?hub.mode=subscribe&hub.challenge=...` (Meta adds `hub.verify_token`) and want the
  challenge echoed as the plain-text body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson

from connectors.verification.base import VerificationFailed

HANDSHAKE_MAX_BYTES = 4096


def slack_challenge(body: bytes) -> str | None:
    """The challenge to answer (`{"challenge": ...}`, 200) when `body` is Slack's handshake."""
    # A handshake is a small document naming itself: anything else is not parsed twice (nor,
    # nested deep, parsed by a recursive reader at all).
    if len(body) > HANDSHAKE_MAX_BYTES or b"url_verification" not in body:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.get("type") != "url_verification":
        return None
    challenge = document.get("challenge")
    return challenge if isinstance(challenge, str) and challenge else None


def hub_challenge(
    query: Mapping[str, str], check_token: Callable[[str], bool] | None = None
) -> str | None:
    """The challenge to echo (text/plain, 200) when `query` is a subscription check, else None.

    When the sender sends `hub.verify_token` and `check_token` is given, the token must pass it
    (for example the endpoint token, entered as the verify token in the sender's settings).
    """
    if query.get("hub.mode") != "subscribe" or not query.get("hub.challenge"):
        return None
    verify_token = query.get("hub.verify_token")
    if check_token is not None and verify_token is not None and not check_token(verify_token):
        raise VerificationFailed("hub.verify_token does not match")
    return query["hub.challenge"]
