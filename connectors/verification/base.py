"""What every sender-verification scheme shares: the result, the errors, the base class.

A scheme checks that a request to an ingest endpoint comes from the sender it claims, from the
raw body bytes and the headers, and says in words what failed. Its words never carry the
expected signature or a secret: a 401 answer must not help anyone forge the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

DEFAULT_TOLERANCE = 300
MAX_TOLERANCE = 86_400
SECRET_KEYS = ("secret", "previous_secret", "password", "previous_password")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# The beginnings of the reasons the schemes give, by the kind of failure they are.
FAILURE_KINDS = (
    ("no ", "missing"),
    ("malformed", "malformed"),
    ("signature", "signature"),
    ("timestamp", "timestamp"),
    ("username or password", "credentials"),
)


class VerificationFailed(Exception):
    """The request is not from the configured sender (a 401); `reason` says what failed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def kind(self) -> str:
        """What sort of failure, in one word, for counting (a metric label): missing, malformed,
        signature, timestamp, token, credentials or other."""
        reason = self.reason.lower()
        if "token" in reason:
            return "token"
        for prefix, kind in FAILURE_KINDS:
            if reason.startswith(prefix):
                return kind
        return "other"


class InvalidVerification(ValueError):
    """A verification setting is wrong; `field` names it (empty when it is the whole object)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Verified:
    scheme: str
    # The sender's event id, for replay de-duplication (standard_webhooks, stripe), else None.
    event_id: str | None = None
    # True when only `previous_secret` (or `previous_password`) matched: the sender has not
    # switched to the new secret yet, and removing the previous one would lock it out.
    by_previous_secret: bool = False


class Headers:
    """Request headers looked up without regard to case, as HTTP means them."""

    def __init__(self, headers: Mapping[str, str]):
        self._headers = {name.lower(): value for name, value in headers.items()}

    def get(self, name: str) -> str:
        return self._headers.get(name.lower(), "").strip()

    def require(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise VerificationFailed(f"no {name} header")
        return value


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def same(expected: str, presented: str) -> bool:
    """Constant-time equality of two header values (any characters a header may carry)."""
    return hmac.compare_digest(
        expected.encode("utf-8", "replace"), presented.encode("utf-8", "replace")
    )


def parse_timestamp(value: str, header: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise VerificationFailed(f"malformed {header} header (not a Unix time)") from None


def check_timestamp(timestamp: int, now: float, tolerance: int) -> None:
    if timestamp < now - tolerance:
        raise VerificationFailed(f"timestamp too old (more than {tolerance} s)")
    if timestamp > now + tolerance:
        # Compared, not divided: a timestamp of a thousand digits is no float.
        if (now - tolerance) * 1000 <= timestamp <= (now + tolerance) * 1000:
            raise VerificationFailed(
                f"timestamp in the future (more than {tolerance} s ahead; it reads as "
                "milliseconds: send seconds)"
            )
        raise VerificationFailed(f"timestamp in the future (more than {tolerance} s ahead)")


class Scheme:
    """One way a sender proves itself. Subclasses say what they read and how they sign."""

    name: ClassVar[str]
    label: ClassVar[str]
    # The headers the sender sets, for people (docs, the UI's example request).
    sender_headers: ClassVar[tuple[str, ...]] = ()
    # Settings beyond `scheme` and `allow_query_token`, for the unknown-setting check.
    settings: ClassVar[tuple[str, ...]] = ()
    has_timestamp: ClassVar[bool] = False

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The scheme's own settings, checked, with defaults filled in."""
        return {}

    def verify(
        self, config: Mapping[str, Any], headers: Headers, body: bytes, now: float
    ) -> Verified:
        raise NotImplementedError

    def sign(self, config: Mapping[str, Any], body: bytes, now: int) -> dict[str, str]:
        """Headers a correct sender would send with `body` at `now`."""
        raise NotImplementedError


class SecretScheme(Scheme):
    """A scheme keyed by a shared secret, with an optional previous one (rotation overlap)."""

    settings = ("secret", "previous_secret")

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = {"secret": self.clean_secret(data, "secret", required=True)}
        previous = self.clean_secret(data, "previous_secret", required=False)
        if previous:
            cleaned["previous_secret"] = previous
        if self.has_timestamp:
            cleaned["tolerance_seconds"] = clean_tolerance(data)
        return cleaned

    def clean_secret(self, data: Mapping[str, Any], key: str, *, required: bool) -> str:
        return clean_text(data, key, required=required, what="the signing secret")

    def candidates(self, config: Mapping[str, Any]) -> list[tuple[str, bool]]:
        """(secret, is the previous one), newest first."""
        found = [(config["secret"], False)]
        if config.get("previous_secret"):
            found.append((config["previous_secret"], True))
        return found

    def match(
        self,
        config: Mapping[str, Any],
        expected: Callable[[str], str],
        presented: list[str],
        event_id: str | None = None,
    ) -> Verified:
        """Accept when any presented signature equals the one a configured secret makes."""
        for secret, previous in self.candidates(config):
            signature = expected(secret)
            # Every presented value is compared, so the time taken says nothing of which matched.
            if any([same(signature, value) for value in presented]):
                return Verified(self.name, event_id=event_id, by_previous_secret=previous)
        raise VerificationFailed("signature does not match")


def clean_text(data: Mapping[str, Any], key: str, *, required: bool, what: str) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise InvalidVerification(key, f"Enter {what}.")
        return ""
    if not isinstance(value, str):
        raise InvalidVerification(key, "Write it as text.")
    if value != value.strip():
        raise InvalidVerification(
            key, "It starts or ends with a space or line break; copy it again without them."
        )
    return value


def clean_tolerance(data: Mapping[str, Any]) -> int:
    value = data.get("tolerance_seconds", DEFAULT_TOLERANCE)
    if value is None:
        return DEFAULT_TOLERANCE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOLERANCE:
        raise InvalidVerification(
            "tolerance_seconds", f"Use a whole number of seconds from 1 to {MAX_TOLERANCE:,}."
        )
    return value
