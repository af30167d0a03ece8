"""Small wording helpers for the pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

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
