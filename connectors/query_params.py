"""Ids read from query strings and forms: whole numbers a database key can hold, or nothing."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

# The largest BIGINT: a bigger number reaches the database as an overflow, not as "no match".
MAX_ID = 2**63 - 1


def parse_id(text: str | None) -> int | None:
    """`text` as an id; None when it is not one ("", "abc", "-1", "²", beyond BIGINT)."""
    # str.isdigit alone takes "²", which int() refuses.
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def id_filter(request, name: str) -> int | None:
    """A page's id filter: one that is not an id is no filter (pages ignore what a hand-edited URL
    breaks)."""
    return parse_id(request.GET.get(name))


def id_param(request, name: str) -> int | None:
    """An API's id filter: absent, None; not an id, a 400 naming the parameter."""
    value = request.query_params.get(name, "")
    if not value:
        return None
    parsed = parse_id(value)
    if parsed is None:
        raise ValidationError({name: [f"{value!r} is not an id (a whole number)."]})
    return parsed


def query_without_page(request, *also: str) -> str:
    """The query string of a list page without its page number (and the parameters `also`
    names), for the pager's and the view switch's links."""
    params = request.GET.copy()
    for name in ("page", *also):
        params.pop(name, None)
    return params.urlencode()
