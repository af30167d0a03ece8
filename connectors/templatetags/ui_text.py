"""Small wording helpers for the pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now" under a minute (where `timesince` says "0 minutes"), else "5 minutes ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def minute_after(moment: datetime) -> datetime:
    """The end of the minute that starts at `moment` (links from a minute to its runs)."""
    return moment + timedelta(minutes=1)


@register.filter
def due_in(moment: datetime | None) -> str:
    """ "within a minute" when due under a minute from now or already due (where `timeuntil`
    says "0 minutes"), else "in 5 minutes"."""
    if moment is None:
        return ""
    if moment - timezone.now() < timedelta(minutes=1):
        return "within a minute"
    return f"in {timeuntil(moment)}"


@register.filter
def beyond_status(error: str, status_code: int | None) -> str:
    """An answer's error without the "HTTP 500" that its status code, shown beside it, says."""
    shown = f"HTTP {status_code}"
    if status_code and error.startswith(shown):
        return error[len(shown) :].strip()
    return error
