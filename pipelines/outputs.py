"""What each destination kind does with a pipeline's good records.

Two steps, so the accepting transaction holds the write lock as briefly as possible:
`encode` does the CPU work (JSON text, batching) before the transaction opens, `accept`
only writes, inside it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import transaction

from connectors import jsontext
from mailbox.models import append_records
from osmosproject.metrics import record_delivered


class Output:
    kind: ClassVar[str]
    # True when accepting the records is already delivering them (nothing goes out later).
    delivers_at_once: ClassVar[bool] = False

    def encode(self, pipeline, records: list[dict]) -> Any:
        """Everything `accept` needs that can be computed without the database."""
        raise NotImplementedError

    def accept(self, pipeline, run, encoded: Any) -> None:
        raise NotImplementedError


class MailboxOutput(Output):
    kind = "mailbox"
    delivers_at_once = True

    def encode(self, pipeline, records: list[dict]) -> list[str]:
        return [jsontext.dumps(r) for r in records]

    def accept(self, pipeline, run, encoded: list[str]) -> None:
        append_records(pipeline.destination, encoded, run.pk)
        record_delivered("mailbox", len(encoded))


class HttpDestinationOutput(Output):
    kind = "http_destination"

    def encode(self, pipeline, records: list[dict]) -> list:
        from pipelines.models import Delivery, DeliveryPayload

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
        from pipelines.models import Delivery
        from pipelines.tasks import enqueue_deliveries

        for delivery in encoded:
            delivery.run = run
        ids = [d.pk for d in Delivery.create_all(encoded)]
        # Outbound HTTP never happens inside the request: workers pick these up after the commit,
        # a task per chunk of ids, never one per delivery.
        transaction.on_commit(lambda: enqueue_deliveries(ids))


OUTPUTS: dict[str, Output] = {
    output.kind: output for output in (MailboxOutput(), HttpDestinationOutput())
}


def output_for(kind: str) -> Output:
    return OUTPUTS[kind]
