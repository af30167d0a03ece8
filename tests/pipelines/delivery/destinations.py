"""Builders for delivery tests: an HTTP destination at a local receiver, and a delivery to it."""

from __future__ import annotations

from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run, RunStat
from tests.helpers import make_connector, make_pipeline


def make_destination(url: str, headers: list[dict] | None = None, **config):
    destination = make_connector(
        "http_destination",
        "Receiver",
        [{"name": "id", "type": "integer"}],
        url=url,
        method="POST",
        **config,
    )
    destination.replace_headers(headers or [])
    return destination


def make_delivery(destination, records: list[dict]) -> Delivery:
    """A delivery as a pipeline leaves it: pending, counted as accepted by its run."""
    source = make_connector("ingest_endpoint", "Orders")
    pipeline = make_pipeline(source, destination)
    run = Run.objects.create(
        source=source, trigger=Run.Trigger.INGEST, received=len(records), accepted=len(records)
    )
    RunStat.objects.create(run=run, pipeline=pipeline, accepted=len(records))
    return Delivery.objects.create(
        pipeline=pipeline, destination=destination, run=run, records=records
    )
