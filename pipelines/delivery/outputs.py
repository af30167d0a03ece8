"""What an HTTP destination does with a pipeline's good records: deliveries, sent later by workers."""

from __future__ import annotations

from django.db import transaction

from pipelines.delivery.models import Delivery, DeliveryPayload
from pipelines.delivery.queue import enqueue_deliveries
from pipelines.runs.outputs import Output, register


class HttpDestinationOutput(Output):
    kind = "http_destination"

    def encode(self, pipeline, records: list[dict]) -> list:
        size = max(1, pipeline.destination.batch_size)
        deliveries = []
        for i in range(0, len(records), size):
            delivery = Delivery(
                pipeline=pipeline, destination=pipeline.destination, records=records[i : i + size]
            )
            delivery.payload_text = DeliveryPayload.encode(delivery.records)
            deliveries.append(delivery)
        return deliveries

    def accept(self, pipeline, run, encoded: list) -> None:
        for delivery in encoded:
            delivery.run = run
        ids = [d.pk for d in Delivery.create_all(encoded)]
        # Outbound HTTP never happens inside the request: workers pick these up after the commit,
        # a task per chunk of ids, never one per delivery.
        transaction.on_commit(lambda: enqueue_deliveries(ids))


register(HttpDestinationOutput())
