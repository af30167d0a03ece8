"""The steps every batch of source records takes into a run.

Validate by the source schema (`check_records`), keep the rejected whole with the run
(`RecordError.keep`), hand the good ones to every enabled pipeline in the same transaction
(`prepare_all`, then `store_all` last). The ingest endpoint, HTTP source pages, CSV uploads and resent records all
go through these; `accept_into_run` does the three for a chunk and adds its counts.

A pipeline that cannot map at all (its mapping no longer fits the schemas: an edit that slipped
past validation, a migration, a race) never fails the batch: its share is kept whole as rejected
records with the reason, and the pipeline is marked (`Pipeline.broken_reason`) until it works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction

from connectors import audit
from connectors.prepared import PreparedQuery
from connectors.schema import CompiledSchema
from connectors.templating import batch_budget
from pipelines.mapping.compile import MappingConfigError
from pipelines.mapping.models import Pipeline
from pipelines.runs.models import RecordError, Run, RunStat
from pipelines.runs.outputs import Output, output_for

logger = logging.getLogger("pipelines.runs")

# Every batch looks up its source's pipelines: compiled to SQL once (connectors/prepared.py).
# Each call gets copies of instances built once while their rows are unchanged.
ENABLED_PIPELINES = PreparedQuery(
    lambda source_id: Pipeline.objects.enabled_for(source_id), reuse=True
)


@dataclass
class PreparedBatch:
    """One pipeline's share of a batch, mapped and encoded, waiting for its run's transaction."""

    pipeline: Pipeline
    output: Output | None  # None when the pipeline cannot run
    encoded: Any  # what output.encode made of the good records; None when there are none
    accepted: int
    rejected: list[tuple[int, Any, list[dict]]]  # (index in the run, record, errors)
    broken_reason: str = ""  # why the pipeline cannot run; "" when it ran

    @property
    def delivered(self) -> int:
        """Records delivered by storing them (a mailbox); HTTP deliveries count later."""
        return self.accepted if self.output is not None and self.output.delivers_at_once else 0

    def store(self, run: Run, *, new_run: bool = False) -> None:
        """Write the batch into `run`; inside the accepting transaction.

        `new_run`: the run was created in this transaction, so it has no stat to add to yet.
        """
        pipeline = self.pipeline
        if self.broken_reason != pipeline.broken_reason:
            # Only when it changes: marked when it breaks, cleared when it works again.
            Pipeline.objects.filter(pk=pipeline.pk).update(broken_reason=self.broken_reason)
            pipeline.broken_reason = self.broken_reason
        RecordError.keep(run, self.rejected, pipeline=pipeline)
        counts = {
            "accepted": self.accepted,
            "rejected": len(self.rejected),
            "delivered": self.delivered,
        }
        # Pulls store once per page: add to the run's stat, creating it on the first page.
        if new_run or not RunStat.add({"run": run.pk, "pipeline": pipeline.pk}, **counts):
            RunStat.insert(run=run, pipeline=pipeline, **counts)
        # Last: a mailbox locks its sequence row until the commit, and every writer to that
        # mailbox queues behind it (on PostgreSQL; SQLite has one writer anyway).
        if self.output is not None and self.encoded is not None:
            self.output.accept(pipeline, run, self.encoded)


def prepare(
    pipeline: Pipeline, records: list[dict], indices: list[int] | None = None
) -> PreparedBatch:
    """Map records to the pipeline's destination and encode them: CPU only, no query.

    Callers prepare before their transaction opens, so it holds the write lock only for
    the writes (`PreparedBatch.store`).
    """
    indices = indices if indices is not None else list(range(len(records)))
    try:
        compiled = pipeline.compiled(validated=True)
        output = output_for(pipeline.destination.kind)
    except Exception as exc:  # whatever stops a pipeline must not fail its source's batch
        return cannot_run(pipeline, records, indices, exc)
    good, bad = [], []
    # Templates share one time budget per batch: a record past it is rejected with the reason.
    with batch_budget(settings.TEMPLATE_BATCH_BUDGET_MS):
        for index, record in zip(indices, records, strict=True):
            mapped, errors = compiled.map(record)
            if errors:
                bad.append((index, record, errors))
            else:
                good.append(mapped)
    return PreparedBatch(
        pipeline, output, output.encode(pipeline, good) if good else None, len(good), bad
    )


def cannot_run(
    pipeline: Pipeline, records: list[dict], indices: list[int], exc: Exception
) -> PreparedBatch:
    """The share of a pipeline that cannot map: every record kept, rejected with the reason."""
    if isinstance(exc, MappingConfigError):
        reason = str(exc)
    else:
        logger.exception("pipeline=%s could not be prepared", pipeline.pk)
        reason = f"it could not be prepared ({type(exc).__name__}; see the server log)"
    if reason != pipeline.broken_reason:
        logger.warning("pipeline=%s cannot run: %s", pipeline.pk, reason)
    errors = [
        {
            "field": "",
            "message": f"The pipeline cannot run: {reason}. Fix the pipeline, then resend.",
        }
    ]
    rejected = [(i, record, errors) for i, record in zip(indices, records, strict=True)]
    return PreparedBatch(pipeline, None, None, 0, rejected, broken_reason=reason)


def accept_into_run(
    run: Run, records: list, *, first_index: int = 0, pipelines: Iterable[Pipeline] | None = None
) -> tuple[int, int]:
    """Validate and pass on one chunk of `run`'s records to every enabled pipeline of its source
    (or the chosen ones); (accepted, rejected).

    Call it inside a transaction: the chunk's errors, outputs and counts commit together.
    """
    source = run.source
    validator = source.schema.compile(drop_unknown=source.drop_unknown_fields)
    good, indices, bad = check_records(validator, records, first_index)
    prepared = prepare_all(run.source_id, good, indices, pipelines)
    RecordError.keep(run, bad)
    Run.add(
        {"id": run.pk},
        received=len(records),
        accepted=len(good),
        rejected=len(bad),
        delivered=delivered_at_once(prepared),
    )
    store_all(run, prepared)
    return len(good), len(bad)


Rejected = tuple[int, Any, list[dict]]  # (index in the run, the record as received, its errors)


def check_records(
    validator: CompiledSchema, records: list, first_index: int = 0
) -> tuple[list[dict], list[int], list[Rejected]]:
    """Split records into the valid ones (cleaned, with their indices) and the rejected ones."""
    good, indices, bad = [], [], []
    for index, record in enumerate(records, start=first_index):
        clean, errors = validator.validate(record)
        if errors:
            bad.append((index, record, errors))
        else:
            good.append(clean)
            indices.append(index)
    return good, indices, bad


def prepare_all(
    source_id: int,
    records: list[dict],
    indices: list[int],
    pipelines: Iterable[Pipeline] | None = None,
) -> list[PreparedBatch]:
    """Each enabled pipeline's share of the records, mapped and encoded: before the transaction."""
    if not records:
        return []
    if pipelines is None:
        pipelines = ENABLED_PIPELINES(source_id)
    return [prepare(pipeline, records, indices) for pipeline in pipelines]


def still_existing(prepared: list[PreparedBatch]) -> list[PreparedBatch]:
    """The batches whose pipeline still exists, each given its pipeline as it is now: to store
    them again after a commit failed on a deleted pipeline's foreign keys (no need to keep the
    records and prepare them again)."""
    pipelines = Pipeline.objects.select_related("destination").in_bulk(
        [batch.pipeline.pk for batch in prepared]
    )
    return [
        replace(batch, pipeline=pipelines[batch.pipeline.pk])
        for batch in prepared
        if batch.pipeline.pk in pipelines
    ]


def delivered_at_once(prepared: list[PreparedBatch]) -> int:
    """Records the prepared batches deliver by being stored (mailbox rows); deliveries count later."""
    return sum(batch.delivered for batch in prepared)


def store_all(run: Run, prepared: list[PreparedBatch], *, new_run: bool = False) -> int:
    """Write prepared batches into the run (inside its transaction); how many were delivered.

    Last in the transaction: a mailbox's sequence row stays locked from here to the commit,
    and every writer to that mailbox queues behind it, so callers write their own rows (the
    run's counts, keys, locks) first, counting with `delivered_at_once`."""
    for batch in prepared:
        batch.store(run, new_run=new_run)
    return delivered_at_once(prepared)


def finish_run(run_id: int, error: str = "") -> Run:
    # Locked: delivery workers add their counts to this row while the run ends.
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run_id)
        run.finish(error=error)
    return run


@transaction.atomic
def resend(record_errors: list[RecordError], fixed: dict[int, dict] | None = None) -> Run:
    """Send rejected records again (as fixed, when given), as a new run with trigger "resend".

    A record rejected by the source schema goes through every enabled pipeline of the source; one
    rejected by one pipeline's mapping goes through that pipeline only, since the others
    already took it. The old errors are marked "resent".
    """
    fixed = fixed or {}
    source = record_errors[0].run.source
    run = Run.objects.create(source=source, trigger=Run.Trigger.RESEND)
    by_pipeline: dict[int | None, list[dict]] = {}
    for error in record_errors:
        by_pipeline.setdefault(error.pipeline_id, []).append(fixed.get(error.pk, error.record))
    index = 0
    for pipeline_id, records in by_pipeline.items():
        chosen = None
        if pipeline_id is not None:
            chosen = Pipeline.objects.enabled_for(source.pk).filter(pk=pipeline_id)
        accept_into_run(run, records, first_index=index, pipelines=chosen)
        index += len(records)
    RecordError.objects.filter(pk__in=[e.pk for e in record_errors]).update(
        status=RecordError.Status.RESENT
    )
    first = record_errors[0].run
    audit.record(
        "resend",
        "run",
        first.pk,
        f"run #{first.pk}",
        records=(None, len(record_errors)),
        run=(None, run.pk),
    )
    return finish_run(run.pk)
