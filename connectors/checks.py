"""System checks: run by every management command (migrate, qcluster) and `check --deploy`."""

from __future__ import annotations

from django.core.checks import Error, register

from connectors import secrets


@register()
def check_field_encryption_key(app_configs, **kwargs) -> list[Error]:
    """With DEBUG off, secrets at rest need a key of their own, not one derived from SECRET_KEY."""
    if not secrets.derives_key():
        return []
    return [
        Error(
            "FIELD_ENCRYPTION_KEY is not set, and DEBUG is off.",
            hint=secrets.MISSING_KEY
            + " An installation that ran without it keeps its secrets readable by setting it to"
            " the key derived so far: `python manage.py derived_encryption_key` prints it.",
            id="superconnector.E001",
        )
    ]
