"""What an HTTP destination does with a pipeline's good records: deliveries, sent later by workers."""

from __future__ import annotations

from django.db import transaction

from pipelines.delivery.models import Delivery, DeliveryPayload
from pipelines.delivery.queue import enqueue_deliveries
from pipelines.runs.outputs import Output, register


class HttpDestinationOutput(Output):
    kind = "http_destination"

    def encode(self, pipeline, records: list[dict]) -> list[tuple[int, str]]:
        """Each delivery's record count and payload text: the text only, not the mapped records
        too, which would stay alive until the commit, a copy of the whole batch."""
        size = max(1, pipeline.destination.batch_size)
        batches = (records[i : i + size] for i in range(0, len(records), size))
        return [(len(batch), DeliveryPayload.encode(batch)) for batch in batches]

    def accept(self, pipeline, run, encoded: list[tuple[int, str]]) -> None:
        ids = Delivery.create_batches(pipeline, run, encoded)
        # Outbound HTTP never happens inside the request: workers pick these up after the commit,
        # a task per chunk of ids, never one per delivery.
        transaction.on_commit(lambda: enqueue_deliveries(ids))


register(HttpDestinationOutput())
