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
            batch = records[i : i + size]
            delivery = Delivery(
                pipeline=pipeline, destination=pipeline.destination, record_count=len(batch)
            )
            # The payload text only, not the mapped records too: they would stay alive with
            # the delivery until the commit, a copy of the whole batch (read again from the
            # text if anything asks for `records`).
            delivery.use_payload(DeliveryPayload.encode(batch))
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
