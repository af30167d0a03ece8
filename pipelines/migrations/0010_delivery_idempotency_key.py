"""Deliveries get an Idempotency-Key of their own: a UUID, not the row id.

Each existing delivery gets its own random key (a column default would give them all one), so
deliveries waiting for a retry or a replay keep one key from now on.
"""

import uuid

from django.db import migrations, models


def give_each_delivery_a_key(apps, schema_editor):
    Delivery = apps.get_model("pipelines", "Delivery")
    ids = list(Delivery.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        Delivery.objects.bulk_update(
            [Delivery(pk=pk, idempotency_key=uuid.uuid4()) for pk in ids[start : start + 2000]],
            ["idempotency_key"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0009_verification_failures"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="idempotency_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_delivery_a_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="delivery",
            name="idempotency_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
