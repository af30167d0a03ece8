"""The one redaction step: a connector's secrets taken out of every text made from its work.

Error messages, attempt logs (URL, headers, response excerpt), run details and log lines are
made from what a connector sends and receives, and the outside puts secrets in them: an API
echoes the request back, `requests` writes the URL (query string and its API key included)
into its exceptions, a token endpoint answers with a token. So rather than trusting each
message to be built with care, every such text goes through `Redactor.redact` before it is
stored, logged or shown: each secret the connector holds, in each form it travels in (as is,
URL-encoded, base64, JSON- or repr-escaped), becomes the mask.

What a connector holds: header values flagged secret (and those of always-secret names), its
secret variables (a URL among them also by its path), its auth values (bearer token, Basic
password, a Basic username flagged secret, and the header made of them, API key, OAuth2
client secret), credentials in its URLs' userinfo, its signing secrets, the secrets of its
sender verification, and the OAuth2 access tokens fetched for it at run time (looked up when a text
is redacted, so a token fetched after the redactor was made is covered).

Each process remembers the secrets of the connectors it redacted for (a bounded registry), so
that the logging filter `osmosproject.logs.RedactSecrets` applies the same step to every log
line: a last line of defence for texts made outside our code (a library's debug line).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

import orjson

from connectors import auth, http
from connectors.secret_variables import redaction_forms
from connectors.secrets import MASK, is_undecryptable
from connectors.verification.base import SECRET_KEYS as VERIFICATION_SECRET_KEYS
from osmosproject.logs import use_redaction

# Shorter values are not hunted: masking every "abc" in a message would garble it and hide
# nothing worth hiding (the settings refuse no secret for being short; they are just weak).
MIN_LENGTH = 4
# How many connectors' secrets a process remembers for the logging filter.
REMEMBERED_CONNECTORS = 256


def forms(secret: str) -> set[str]:
    """The ways `secret` can be written in a text: as is, URL-encoded, base64, escaped."""
    raw = secret.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    # In JSON as peers echo it: escaped minimally (orjson), non-ASCII as \u escapes (Python's
    # json.dumps), and either with slashes escaped (PHP's json_encode, by default).
    in_json = {orjson.dumps(secret).decode()[1:-1], json.dumps(secret)[1:-1]}
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        *in_json,
        *(text.replace("/", "\\/") for text in in_json),
        repr(secret)[1:-1],
        *encoded,
        *(text.rstrip("=") for text in encoded),
    }
    return {text for text in found if len(text) >= MIN_LENGTH}


@lru_cache(maxsize=256)
def _pattern(secrets: frozenset[str]) -> re.Pattern | None:
    texts = {text for secret in secrets for text in forms(secret)}
    if not texts:
        return None
    # Longest first: a secret that contains another is masked whole.
    return re.compile("|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True)))


def _usable(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(
        value
        for value in values
        if isinstance(value, str)
        and len(value) >= MIN_LENGTH
        and value != MASK
        and not is_undecryptable(value)
    )


class Redactor:
    """Masks a set of secrets, and the OAuth2 tokens fetched under `token_key`, in any text."""

    def __init__(self, secrets: Iterable[str] = (), *, token_key: str = "") -> None:
        self.secrets = _usable(secrets)
        self.token_key = token_key
        if token_key:
            _remember(token_key, self.secrets)

    @classmethod
    def for_connector(cls, connector, headers=None) -> Redactor:
        """Every secret `connector` holds; `headers` spares a query when the caller has them."""
        return cls(connector_secrets(connector, headers), token_key=token_key(connector))

    def redact(self, text: str) -> str:
        if not text:
            return text
        tokens = auth.issued_tokens(self.token_key) if self.token_key else ()
        pattern = _pattern(self.secrets | _usable(tokens))
        return pattern.sub(MASK, text) if pattern is not None else text

    def redact_data(self, value: Any) -> Any:
        """`redact` over a JSON-like document (a run detail, a request shown): keys and values."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact_data(k): self.redact_data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_data(item) for item in value]
        return value


def token_key(connector) -> str:
    """The key its OAuth2 tokens are cached under (`send_with_auth`'s `cache_key`)."""
    return f"connector-{connector.pk}"


def connector_secrets(connector, headers=None) -> list[str]:
    found: list[str] = []
    if connector.kind in ("http_source", "http_destination"):
        rows = connector.headers.all() if headers is None else headers
        for row in rows:
            if row.secret or row.name.lower() in http.ALWAYS_SECRET_HEADERS:
                found += header_secrets(row.value)
        found += auth_secrets(connector.auth)
        found += url_secrets(connector.url)
        found += redaction_forms(connector.secret_variables)
    if connector.kind == "http_destination":
        found += [connector.signing_secret, connector.previous_signing_secret]
    if connector.kind == "ingest_endpoint":
        verification = connector.verification or {}
        if not is_undecryptable(verification):
            found += [str(verification.get(key) or "") for key in VERIFICATION_SECRET_KEYS]
    return found


# RFC 9110 section 11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ].
_AUTH_SCHEME = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S.*)")


def header_secrets(value: str) -> list[str]:
    """A secret header's value, and when it is `<scheme> <credentials>` (`Bearer 7f3c...`,
    `Basic ...`) the credentials alone, which an API echoes without the scheme ("invalid
    token 7f3c..."); of Basic credentials, also the password they carry."""
    found = [value]
    match = None if is_undecryptable(value) else _AUTH_SCHEME.fullmatch(value.strip())
    if match is None:
        return found
    scheme, credentials = match.group(1), match.group(2).strip()
    found.append(credentials)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return found
        _, colon, password = decoded.partition(":")
        if colon:
            found += [decoded, password]
    return found


def auth_secrets(config: Mapping[str, Any] | None) -> list[str]:
    """An auth setting's secrets, and the Basic credentials made from them."""
    if not config or is_undecryptable(config):
        return []
    found = [str(config.get(key) or "") for key in auth.secret_keys(config)]
    kind = config.get("type")
    if kind == "basic":
        found.append(auth.basic_credentials(config.get("username", ""), config.get("password", "")))
    elif kind == "oauth2_client_credentials":
        found += url_secrets(str(config.get("token_url") or ""))
        client_id, client_secret = config.get("client_id", ""), config.get("client_secret", "")
        found.append(auth.basic_credentials(quote_plus(client_id), quote_plus(client_secret)))
    return found


def url_secrets(url: str) -> list[str]:
    """Credentials in a URL's userinfo (`https://user:password@host/`, or a token alone as
    `https://token@host/`), as written and as sent."""
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return []
    if username is None:
        return []
    if password is None:
        return [username, unquote(username)]
    plain = unquote(password)
    return [
        password,
        plain,
        f"{username}:{password}",
        auth.basic_credentials(unquote(username), plain),
    ]


# --- What the process has seen, for the logging filter ---------------------------------------

_remembered: OrderedDict[str, frozenset[str]] = OrderedDict()
_lock = threading.Lock()


def _remember(key: str, secrets: frozenset[str]) -> None:
    with _lock:
        _remembered[key] = secrets
        _remembered.move_to_end(key)
        while len(_remembered) > REMEMBERED_CONNECTORS:
            _remembered.popitem(last=False)


def redact_known(text: str) -> str:
    """`redact` with every secret this process has redacted for, and every token it fetched."""
    if not text:
        return text
    with _lock:
        known = frozenset().union(*_remembered.values())
    pattern = _pattern(known | _usable(auth.issued_tokens()))
    return pattern.sub(MASK, text) if pattern is not None else text


use_redaction(redact_known)
