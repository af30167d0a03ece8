"""JSON text in and out with integers of any size kept exact.

orjson is fast but holds integers in 64 bits: it reads a longer one as a float, losing its last
digits without a word (an order id of 30 digits would be stored rounded), and refuses to write
one. The standard library's json keeps them exact, at several times the cost, so it reads only
the rare text that may hold such an integer and writes only what orjson refused.

Records nest at most MAX_JSON_DEPTH levels deep; `first_too_deep` finds one that does not,
where records enter (ingest bodies, HTTP source responses, API documents, sample records).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import orjson

# What `loads` raises. The standard library's json.JSONDecodeError is its base class, not a
# subclass, so `except orjson.JSONDecodeError` would not catch an error the standard library
# raised: `loads` raises this one only.
JSONDecodeError = orjson.JSONDecodeError

# orjson reads integers in [-2**63, 2**64 - 1] exactly. Anything beyond has at least 20 digits,
# or a minus and 19 (-9223372036854775809); JSON forbids leading zeros, so no shorter run can be one.
# Minus and digits become "0" and bytes.find looks for 20 in a row (a date range like
# 2024-01-01-2024-12-31 matches too: it only costs that text a slower read). On a 212 KB body
# this takes a quarter of orjson's parse, where a regular expression search takes six times
# that parse: `re` has no fast scan for a character class.
_NUMBER_CHARACTERS_AS_ZEROS = bytes.maketrans(b"-123456789", b"0000000000")
_LONG_RUN = b"0" * 20


# How deep containers may nest in one record: {"a": 1} is 1 level, {"a": [1]} is 2. Deeper
# records are refused where they enter: the standard library, which writes what orjson cannot
# (orjson writes 254 levels at most, reads 1024), recurses once per level and would run out of
# Python's stack (a 500), and no real record needs more.
MAX_JSON_DEPTH = 64


def _orjson_write_depth() -> int:
    """How many levels orjson writes (254 in orjson 3), measured rather than assumed."""
    low, high = 1, 4096
    while low < high:
        middle = (low + high + 1) // 2
        value: Any = 0
        for _ in range(middle):
            value = [value]
        try:
            orjson.dumps(value)
            low = middle
        except TypeError:
            high = middle - 1
    return low


_ORJSON_WRITE_DEPTH = _orjson_write_depth()


def nesting_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether containers nest more than `limit` levels deep in `value`."""
    return first_too_deep([value], limit) is not None


def first_too_deep(values: list[Any], limit: int = MAX_JSON_DEPTH) -> int | None:
    """The index of the first value nested more than `limit` levels deep, or None.

    orjson walks the values in C: held in enough lists that a value deeper than `limit` passes
    orjson's own depth limit, writing them fails. That costs about a tenth of reading their
    text (walking them in Python, three times more), so only values orjson cannot write for
    another reason (an integer beyond 64 bits) take that path. 256 values at a time: writing a
    10 MB batch at once would hold another 10 MB.
    """
    holder, wrapped = _wrapper(limit)
    try:
        for start in range(0, len(values), 256):
            holder[:] = values[start : start + 256]
            try:
                orjson.dumps(wrapped)
                continue
            except TypeError:
                pass
            for index in range(start, start + len(holder)):
                holder[:] = [values[index]]
                try:
                    orjson.dumps(wrapped)
                except TypeError:
                    if _depth(values[index], limit) > limit:
                        return index
    finally:
        holder.clear()  # the thread keeps the lists, never the records
    return None


_wrappers = threading.local()


def _wrapper(limit: int) -> tuple[list, list]:
    """An empty holder list inside enough lists; kept per thread (every request checks its
    records, and building ~200 nested lists cost more than checking a small batch)."""
    cached = getattr(_wrappers, "by_limit", None)
    if cached is None:
        cached = _wrappers.by_limit = {}
    if limit not in cached:
        holder: list[Any] = []
        wrapped: list[Any] = holder
        for _ in range(_ORJSON_WRITE_DEPTH - limit - 1):
            wrapped = [wrapped]
        cached[limit] = (holder, wrapped)
    return cached[limit]


def _depth(value: Any, limit: int) -> int:
    """The nesting depth of `value`, counted level by level (no recursion), up to limit + 1."""
    depth = 0
    level = [value]
    while depth <= limit:
        containers = [item for item in level if type(item) is dict or type(item) is list]
        if not containers:
            break
        depth += 1
        level = [
            item
            for container in containers
            for item in (container.values() if type(container) is dict else container)
        ]
    return depth


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """The value of a JSON text; raises JSONDecodeError (with lineno, colno, pos) when invalid."""
    # orjson reads every text first, valid or not: it is the common case's answer, and it refuses
    # what the standard library lets through (NaN, 1e400, lone surrogates, invalid UTF-8), with
    # the messages and positions our callers report.
    value = orjson.loads(data)
    if not _may_hold_long_integer(data):
        return value
    del value  # a 10 MB body must not be held parsed twice at once
    text = data if isinstance(data, str) else str(data, "utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        # orjson takes 1024 levels of nesting; the standard library stops short of Python's
        # recursion limit, lower still inside a request.
        raise JSONDecodeError(
            "too deeply nested to read its long integers exactly", text, 0
        ) from None


def reader_for(document: bytes) -> Callable[[bytes | memoryview | str], Any]:
    """A `loads` for the parts of `document` (its NDJSON lines), checking the whole of it once.

    Checking each small part on its own costs about as much as orjson reading it.
    """
    return loads if _may_hold_long_integer(document) else orjson.loads


def dumps(value: Any) -> str:
    """Compact JSON text, integers beyond 64 bits and keys that are not strings included."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        pass
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        raise ValueError(
            f"the value is nested too deeply to write as JSON (at most {MAX_JSON_DEPTH} levels)"
        ) from None


def dumps_each(values: list[Any]) -> list[str]:
    """`dumps` of each value, in one pass when orjson writes them all (every page of records
    into a mailbox): no call of `dumps` and no `try` per value."""
    try:
        return [_orjson_dumps(value).decode() for value in values]
    except TypeError:
        return [dumps(value) for value in values]


_orjson_dumps = orjson.dumps


def _may_hold_long_integer(data: bytes | bytearray | memoryview | str) -> bool:
    if isinstance(data, str):
        data = data.encode()
    elif isinstance(data, memoryview):
        data = data.tobytes()
    return _LONG_RUN in data.translate(_NUMBER_CHARACTERS_AS_ZEROS)


class TextSafeEncoder(json.JSONEncoder):
    """For JSONFields that keep what outsiders sent (rejected records, their errors, a peer's
    answer): PostgreSQL's jsonb cannot hold a NUL character, and refusing the write would lose
    the whole batch it belongs to. Each NUL is kept as U+FFFD, on every database alike."""

    def encode(self, o: Any) -> str:
        return super().encode(without_nul(o))


def dumps_text_safe(value: Any) -> str:
    """`dumps`, keeping each NUL character as U+FFFD as TextSafeEncoder does: the JSON text of
    a JSONField that keeps what outsiders sent, written without the field's own conversion."""
    text = dumps(value)
    if "\\u0000" in text:  # a NUL, or a sent backslash before "u0000": rarely, dumped again
        text = dumps(without_nul(value))
    return text


def without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value
