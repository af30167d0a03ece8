"""Move each delivery's records out of its row into DeliveryPayload (JSON text), and count them.

Copied in chunks, so a large table is never held in memory at once.
"""

from __future__ import annotations

import json
from collections import defaultdict

import django.db.models.deletion
import orjson
from django.db import migrations, models

CHUNK = 500


def encode(records: list) -> str:
    try:
        return orjson.dumps(records).decode()
    except orjson.JSONEncodeError:
        return json.dumps(records)


def decode(body: str) -> list:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def records_to_payloads(apps, schema_editor) -> None:
    Delivery = apps.get_model("pipelines", "Delivery")
    DeliveryPayload = apps.get_model("pipelines", "DeliveryPayload")
    last_pk = 0
    while True:
        rows = list(
            Delivery.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "records")[:CHUNK]
        )
        if not rows:
            return
        DeliveryPayload.objects.bulk_create(
            DeliveryPayload(delivery_id=pk, body=encode(records)) for pk, records in rows
        )
        # Most deliveries of a destination hold the same number of records: one UPDATE each.
        by_count: dict[int, list[int]] = defaultdict(list)
        for pk, records in rows:
            by_count[len(records)].append(pk)
        for count, pks in by_count.items():
            Delivery.objects.filter(pk__in=pks).update(record_count=count)
        last_pk = rows[-1][0]


def payloads_to_records(apps, schema_editor) -> None:
    Delivery = apps.get_model("pipelines", "Delivery")
    DeliveryPayload = apps.get_model("pipelines", "DeliveryPayload")
    last_pk = 0
    while True:
        payloads = list(
            DeliveryPayload.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "body")[:CHUNK]
        )
        if not payloads:
            return
        Delivery.objects.bulk_update(
            [Delivery(pk=pk, records=decode(body)) for pk, body in payloads], ["records"]
        )
        last_pk = payloads[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0005_delivery_claimed_by"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeliveryPayload",
            fields=[
                (
                    "delivery",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="payload",
                        serialize=False,
                        to="pipelines.delivery",
                    ),
                ),
                ("body", models.TextField()),
            ],
        ),
        migrations.AddField(
            model_name="delivery",
            name="record_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(records_to_payloads, payloads_to_records, elidable=True),
        migrations.RemoveField(
            model_name="delivery",
            name="records",
        ),
    ]
