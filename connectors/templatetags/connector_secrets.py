"""Secrets a page shows once: taken out of the session as the page is rendered."""

from __future__ import annotations

from django import template

register = template.Library()


def signing_secret_key(connector) -> str:
    return f"new-signing-secret-{connector.pk}"


@register.simple_tag(takes_context=True)
def pop_new_signing_secret(context, connector) -> str:
    """The signing secret just issued for `connector`, once; empty on every later view."""
    request = context.get("request")
    if request is None or not hasattr(request, "session"):
        return ""
    return request.session.pop(signing_secret_key(connector), "")
