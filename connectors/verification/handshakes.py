"""Handshakes some senders make before they send events, as pure functions.

- Slack's Events API posts `{"type": "url_verification", "challenge": "..."}` when its Request
  URL is saved and wants the challenge back. Slack signs it, so verify first, then answer.
- WebSub, and Meta's webhooks after it, confirm a subscription with
  `GET ?hub.mode=subscribe&hub.challenge=...` (Meta adds `hub.verify_token`) and want the
  challenge echoed as the plain-text body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from connectors.verification.base import VerificationFailed


def slack_challenge(body: bytes) -> str | None:
    """The challenge to answer (`{"challenge": ...}`, 200) when `body` is Slack's handshake."""
    try:
        document = json.loads(body)
    except ValueError:
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
