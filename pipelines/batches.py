"""Records that enter from the browser: CSV uploads and fixed rejected records sent again.

The same steps as the ingest endpoint (validate by the source schema, keep the rejected with
the run, hand the good ones to the pipelines in the same transaction), but in chunks whose
counts are added to the run, and optionally through chosen pipelines only.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from pipelines.models import Pipeline, RecordError, Run


def accept_into_run(
    run: Run, records: list, *, first_index: int = 0, pipelines: Iterable[Pipeline] | None = None
) -> tuple[int, int]:
    """Validate and pass on one chunk of `run`'s records; (accepted, rejected).

    Call it inside a transaction: the chunk's errors, outputs and counts commit together.
    """
    source = run.source
    validator = source.schema.compile(drop_unknown=source.drop_unknown_fields)
    good, indices, bad = [], [], []
    for offset, record in enumerate(records):
        clean, errors = validator.validate(record)
        if errors:
            bad.append(
                RecordError(run=run, index=first_index + offset, record=record, errors=errors)
            )
        else:
            good.append(clean)
            indices.append(first_index + offset)
    RecordError.objects.bulk_create(bad, batch_size=500)
    if pipelines is None:
        pipelines = Pipeline.objects.filter(source=source, enabled=True).select_related(
            "destination__schema"
        )
    delivered = (
        sum(pipeline.process(good, run, indices).delivered for pipeline in pipelines) if good else 0
    )
    Run.objects.filter(pk=run.pk).update(
        received=F("received") + len(records),
        accepted=F("accepted") + len(good),
        rejected=F("rejected") + len(bad),
        delivered=F("delivered") + delivered,
    )
    return len(good), len(bad)


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
            chosen = Pipeline.objects.filter(pk=pipeline_id, enabled=True).select_related(
                "destination__schema"
            )
        accept_into_run(run, records, first_index=index, pipelines=chosen)
        index += len(records)
    RecordError.objects.filter(pk__in=[e.pk for e in record_errors]).update(
        status=RecordError.Status.RESENT
    )
    return finish_run(run.pk)
