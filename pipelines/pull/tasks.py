"""django-q2 entry points of pulling: take a connector id, reload, pull or read a sample.

They always return normally: a pull's failure is recorded on its run, where people look.
"""

from __future__ import annotations

import logging

from connectors.models import Connector
from pipelines.pull.runs import pull
from pipelines.pull.sample import read_sample
from pipelines.runs.models import Run

logger = logging.getLogger("pipelines.tasks")


def pull_source(
    connector_id: int, trigger: str = Run.Trigger.SCHEDULE, run_id: int | None = None
) -> None:
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return
    run = Run.objects.filter(pk=run_id).first() if run_id else None
    try:
        pull(connector, trigger, run)
    except Exception:
        logger.exception("source=%s pull crashed", connector_id)


def sample_source(connector_id: int, pages: int = 3) -> dict | None:
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return None
    try:
        return read_sample(connector, pages)
    except Exception:
        logger.exception("source=%s sample crashed", connector_id)
        return {
            "ok": False,
            "error": "The test read failed inside the worker.",
            "requests": [],
            "records": [],
        }
