"""Running a pipeline's HTTP source now, from its page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from connectors.models import Connector
from connectors.views import staff_required
from pipelines.mapping.models import Pipeline
from pipelines.pull.runs import SourceBusy, queue_pull


@staff_required
@require_POST
def pipeline_run(request, pk: int):
    """Pull the pipeline's HTTP source now (queued to the workers)."""
    pipeline = get_object_or_404(Pipeline.objects.select_related("source"), pk=pk)
    if pipeline.source.kind != Connector.Kind.HTTP_SOURCE:
        messages.error(request, "Only a pipeline from an HTTP source can be run on demand.")
        return redirect("ui:pipeline", pk=pk)
    try:
        run = queue_pull(pipeline.source)
    except SourceBusy as exc:
        messages.error(request, str(exc))
        return redirect("ui:pipeline", pk=pk)
    return redirect("ui:run", pk=run.pk)
