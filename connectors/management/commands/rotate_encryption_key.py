"""`manage.py rotate_encryption_key`: re-encrypt every secret at rest with the newest key."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connectors import audit
from connectors.secrets import encrypted_fields, is_undecryptable

BATCH_SIZE = 500


def encrypted_columns() -> dict[type, tuple[str, ...]]:
    """Every model's encrypted columns, read from the models: a list kept by hand here had left
    out the ingest endpoints' `verification`, whose secrets then became unreadable once the old
    key was removed."""
    return {model: names for model in apps.get_models() if (names := encrypted_fields(model))}


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret stored at rest (header values, connector auth, sender "
        "verification, secret variables and signing secrets) with the first key of "
        "FIELD_ENCRYPTION_KEY. Run it after putting a new key "
        "first; when it is done, the older keys can be removed. Safe to run again."
    )

    def handle(self, *args, **options):
        counts = {
            model._meta.verbose_name_plural: reencrypt_model(model, fields)
            for model, fields in encrypted_columns().items()
        }
        with audit.scope("command: rotate_encryption_key"):
            audit.record(
                "rotate_encryption_key",
                "encryption_key",
                "",
                "FIELD_ENCRYPTION_KEY",
                reencrypted_secrets=(None, sum(counts.values())),
            )
        detail = ", ".join(f"{n} in {name}" for name, n in counts.items())
        self.stdout.write(
            f"Re-encrypted {sum(counts.values())} secrets with the newest key ({detail})."
        )


def reencrypt_model(model, fields: tuple[str, ...], batch_size: int = BATCH_SIZE) -> int:
    """Rewrite `fields` of every row; the number of non-empty values rewritten.

    Loading decrypts with any listed key and saving encrypts with the first one, so a
    plain load-and-save is the rotation. Batches keep each write transaction short.
    """
    rewritten, last_pk = 0, 0
    while True:
        with transaction.atomic():
            rows = model.objects.filter(pk__gt=last_pk).order_by("pk").only("pk", *fields)
            batch = list(rows[:batch_size])
            if any(is_undecryptable(getattr(row, field)) for row in batch for field in fields):
                raise CommandError(
                    f"{model.__name__} after id {last_pk}: a stored secret cannot be decrypted "
                    "with FIELD_ENCRYPTION_KEY. Add the key it was encrypted with to "
                    "FIELD_ENCRYPTION_KEY (after the new one) and run again."
                )
            if not batch:
                return rewritten
            model.objects.bulk_update(batch, fields)
        rewritten += sum(1 for row in batch for field in fields if getattr(row, field))
        last_pk = batch[-1].pk
