"""Ids read from query strings and forms: whole numbers a database key can hold, or nothing."""

from __future__ import annotations

# The largest BIGINT: a bigger number reaches the database as an overflow, not as "no match".
MAX_ID = 2**63 - 1


def parse_id(text: str | None) -> int | None:
    """`text` as an id; None when it is not one ("", "abc", "-1", "²", beyond BIGINT)."""
    # str.isdigit alone takes "²", which int() refuses.
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
