"""Secret variables of HTTP connectors: named secrets that templates use like `variables`.

A Slack or Discord webhook URL is its own credential (the path is the key), so it cannot sit
in `url`, which is shown everywhere. As a secret variable it is encrypted at rest, shown as
the mask, and redacted from every text made from the connector's work; the URL template is
just `{{ webhook_url }}`.

On update, a value sent back as the mask keeps the stored one, a new value replaces it, and a
name left out is removed: the way secret headers and `auth` round-trip through forms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from connectors.secrets import MASK, UNDECRYPTABLE, is_undecryptable

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names the templates already give a meaning to.
RESERVED = frozenset({"record", "records", "state", "now"})


class InvalidSecretVariables(ValueError):
    """What is wrong, in words fit for a 400 (never showing a value)."""


def masked(stored: Mapping[str, str] | None) -> dict[str, str]:
    """What every page and API shows: each name, with the mask."""
    if not stored or is_undecryptable(stored):
        return {}
    return {name: MASK for name in stored}


def merge(stored: Mapping[str, str] | None, incoming: Mapping, constants: Mapping | None) -> dict:
    """The values to store: `incoming` with masked values replaced by the stored ones."""
    if not isinstance(incoming, Mapping):
        raise InvalidSecretVariables('Write the secret variables as an object: {"name": "value"}.')
    kept = {} if not stored or is_undecryptable(stored) else dict(stored)
    merged: dict[str, str] = {}
    for name, value in incoming.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise InvalidSecretVariables(
                f"{name!r} is not a usable name: use letters, digits and underscores, "
                "not starting with a digit."
            )
        if name in RESERVED:
            raise InvalidSecretVariables(f"'{name}' is reserved in templates; choose another name.")
        if name in (constants or {}):
            raise InvalidSecretVariables(
                f"'{name}' is in both variables and secret_variables; keep it in one of them."
            )
        if not isinstance(value, str):
            raise InvalidSecretVariables(f"The value of '{name}' must be a string.")
        if value in (MASK, UNDECRYPTABLE):
            if name not in kept:
                raise InvalidSecretVariables(f"'{name}' has no stored value to keep; enter it.")
            value = kept[name]
        if not value:
            raise InvalidSecretVariables(f"Enter the value of '{name}'.")
        merged[name] = value
    return merged


def usable(stored: Mapping[str, str] | None) -> dict[str, str]:
    """The values templates see (none when they cannot be decrypted: the connector pauses)."""
    if not stored or is_undecryptable(stored):
        return {}
    return dict(stored)


def redaction_forms(stored: Mapping[str, str] | None) -> list[str]:
    """Each value, and for a URL the parts that travel on their own: `requests` writes the path
    and query without the host into its errors ("Max retries exceeded with url: /services/...")."""
    found: list[str] = []
    for value in usable(stored).values():
        found.append(value)
        try:
            parts = urlsplit(value)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.netloc:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path.strip("/"):
                found += [path, parts.path, f"{parts.netloc}{parts.path}"]
    return found
