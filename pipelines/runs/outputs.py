"""What each destination kind does with a pipeline's good records.

Two steps, so the accepting transaction holds the write lock as briefly as possible:
`encode` does the CPU work (JSON text, batching) before the transaction opens, `accept`
only writes, inside it.
"""

from __future__ import annotations

from typing import Any, ClassVar

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
        """Write `encoded` into `run`. Called again with the same `encoded` when the transaction
        rolled back and is retried: `encoded` is data, never rows already inserted once."""
        raise NotImplementedError


class MailboxOutput(Output):
    kind = "mailbox"
    delivers_at_once = True

    def encode(self, pipeline, records: list[dict]) -> list[str]:
        return jsontext.dumps_each(records)

    def accept(self, pipeline, run, encoded: list[str]) -> None:
        append_records(pipeline.destination, encoded, run.pk)
        record_delivered("mailbox", len(encoded))


OUTPUTS: dict[str, Output] = {}


def register(output: Output) -> None:
    OUTPUTS[output.kind] = output


register(MailboxOutput())


def output_for(kind: str) -> Output:
    return OUTPUTS[kind]
