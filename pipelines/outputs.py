"""What each destination kind does with a pipeline's good records, inside the accepting transaction."""

from __future__ import annotations

from typing import ClassVar

import orjson
from django.db import transaction

from mailbox.models import append_records
from osmosproject.metrics import record_delivered


class Output:
    kind: ClassVar[str]
    # True when accepting the records is already delivering them (nothing goes out later).
    delivers_at_once: ClassVar[bool] = False

    def accept(self, pipeline, run, records: list[dict]) -> None:
        raise NotImplementedError


class MailboxOutput(Output):
    kind = "mailbox"
    delivers_at_once = True

    def accept(self, pipeline, run, records: list[dict]) -> None:
        append_records(pipeline.destination, [orjson.dumps(r).decode() for r in records], run.pk)
        record_delivered("mailbox", len(records))


class HttpDestinationOutput(Output):
    kind = "http_destination"

    def accept(self, pipeline, run, records: list[dict]) -> None:
        from pipelines.models import Delivery
        from pipelines.tasks import enqueue_deliveries

        size = max(1, pipeline.destination.batch_size)
        deliveries = Delivery.create_all(
            [
                Delivery(
                    pipeline=pipeline,
                    destination=pipeline.destination,
                    run=run,
                    records=records[i : i + size],
                )
                for i in range(0, len(records), size)
            ]
        )
        ids = [d.pk for d in deliveries]
        # Outbound HTTP never happens inside the request: workers pick these up after the commit,
        # a task per chunk of ids, never one per delivery.
        transaction.on_commit(lambda: enqueue_deliveries(ids))


OUTPUTS: dict[str, Output] = {
    output.kind: output for output in (MailboxOutput(), HttpDestinationOutput())
}


def output_for(kind: str) -> Output:
    return OUTPUTS[kind]
