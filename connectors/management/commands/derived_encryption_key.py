"""`manage.py derived_encryption_key`: the FIELD_ENCRYPTION_KEY an installation without one used."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from connectors import secrets


class Command(BaseCommand):
    help = (
        "Print the encryption key derived from SECRET_KEY, which encrypted the secrets at rest "
        "while FIELD_ENCRYPTION_KEY was unset. Set FIELD_ENCRYPTION_KEY to it (then rotate to a "
        "new key with rotate_encryption_key) so that changing SECRET_KEY no longer loses them."
    )
    # It is the way out of the check that refuses to run without FIELD_ENCRYPTION_KEY.
    requires_system_checks = []

    def handle(self, *args, **options):
        self.stdout.write(secrets.derived_key(settings.SECRET_KEY))
