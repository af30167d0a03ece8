"""The run history pages, and fixing and resending rejected records."""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from connectors import examples
from connectors.models import Connector
from connectors.query_params import id_filter, parse_id, query_without_page
from connectors.views import is_fetch, staff_required
from pipelines.mapping.models import Pipeline
from pipelines.runs.batches import resend
from pipelines.runs.forms import fixed_record, grid_columns, grid_rows
from pipelines.runs.models import RecordError, Run

PAGE_SIZE = 50
# The by-minute view's page: an hour of a burst is at most sixty rows a source.
MINUTES_PER_PAGE = 60
# The status filter's value for failed and partially accepted runs together.
WITH_ERRORS = "with_errors"
GRID_ROWS = 100

# --- Runs -------------------------------------------------------------------------------------------


@staff_required
def run_list(request):
    runs = Run.objects.select_related("source")
    filters = {
        "source": id_filter(request, "source"),
        "pipeline": id_filter(request, "pipeline"),
        "status": request.GET.get("status", ""),
        "trigger": request.GET.get("trigger", ""),
        "since": parse_datetime_param(request.GET.get("since")),
        "until": parse_datetime_param(request.GET.get("until")),
        "by": "minute" if request.GET.get("by") == "minute" else "run",
    }
    if filters["source"] is not None:
        runs = runs.filter(source_id=filters["source"])
    if filters["pipeline"] is not None:
        runs = runs.filter(source__outgoing_pipelines=filters["pipeline"])
    if filters["status"] == WITH_ERRORS:
        runs = runs.with_errors()
    elif filters["status"] in Run.Status.values:
        runs = runs.filter(status=filters["status"])
    if filters["trigger"] in Run.Trigger.values:
        runs = runs.filter(trigger=filters["trigger"])
    if filters["since"]:
        runs = runs.filter(started_at__gte=filters["since"])
    if filters["until"]:
        runs = runs.filter(started_at__lt=filters["until"])
    if filters["by"] == "minute":
        shown = minutes_page(runs, parse_datetime_param(request.GET.get("before")))
    else:
        page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
        shown = {"page": page, "runs": page.object_list}
    return render(
        request,
        "pipelines/runs.html",
        {
            **shown,
            "filters": filters,
            "sources": Connector.objects.sources(),
            "pipelines": Pipeline.objects.all(),
            "statuses": [(WITH_ERRORS, "With errors (failed or partial)"), *Run.Status.choices],
            "triggers": Run.Trigger.choices,
            "query": query_without_page(request, "before"),
            "each_run_query": query_without_page(request, "by", "before"),
        },
    )


def minutes_page(runs, before) -> dict:
    """One page of the by-minute view: the runs of MINUTES_PER_PAGE minutes added up, ending
    with the newest run before `before`, and the `before` of the pages beside it (None at
    either end). Pages are windows of time, not offsets into every minute ever grouped."""
    window = runs.minutes_before(before, MINUTES_PER_PAGE)
    if window is None:
        return {"runs": [], "window": None, "newer": None, "older": None}
    start, end = window
    later = runs.filter(started_at__gte=end).exists()
    return {
        "runs": list(runs.filter(started_at__gte=start, started_at__lt=end).by_minute()),
        "window": window,
        # The window ending with the newest run before this one's end plus a page: it starts
        # at or before this one's end, so no minute is skipped.
        "newer": end + timedelta(minutes=MINUTES_PER_PAGE) if later else None,
        "older": start if runs.filter(started_at__lt=start).exists() else None,
    }


def parse_datetime_param(text: str | None):
    """An ISO date-time of the query string, or None (a hand-edited URL is no filter)."""
    try:
        return parse_datetime(text or "")
    except ValueError:
        return None


@staff_required
def run_detail(request, pk: int):
    run = get_object_or_404(Run.objects.select_related("source__schema"), pk=pk)
    if is_fetch(request):
        # The page's poller: only the part that changes while deliveries are under way.
        return render(request, "pipelines/_run_live.html", live_context(run))
    return render(request, "pipelines/run.html", run_context(run))


def live_context(run: Run) -> dict:
    """A run's counts: the source's once, then each pipeline's (a record taken by two pipelines
    is delivered twice, so the run's own delivered count is a sum over pipelines)."""
    stats = list(run.stats.select_related("pipeline__destination").order_by("pipeline__name"))
    by_pipeline: dict[int, list] = {}
    for pipeline_id, status, n in (
        run.deliveries.values_list("pipeline", "status").annotate(n=Count("id")).order_by("status")
    ):
        by_pipeline.setdefault(pipeline_id, []).append((status, n))
    # `runs` never imports `delivery` (docs/architecture.md): its model comes by the relation.
    waiting = run.deliveries.model.Status
    in_flight = run.deliveries.filter(status__in=(waiting.PENDING, waiting.DELIVERING)).exists()
    return {
        "run": run,
        "pipelines": [{"stat": s, "deliveries": by_pipeline.get(s.pipeline_id, [])} for s in stats],
        "totals": run.stats.aggregate(accepted=Sum("accepted"), rejected=Sum("rejected")),
        "settled": run.status != Run.Status.RUNNING and not in_flight,
    }


def run_context(run: Run) -> dict:
    open_errors = list(
        run.record_errors.filter(status=RecordError.Status.OPEN).select_related("pipeline")[
            :GRID_ROWS
        ]
    )
    columns = grid_columns(open_errors, [f.name for f in run.source.schema.fields.all()])
    return {
        **live_context(run),
        "columns": columns,
        "columns_json": json.dumps(columns),
        "grid": grid_rows(open_errors, columns),
        "open_count": run.record_errors.filter(status=RecordError.Status.OPEN).count(),
        "resent_count": run.record_errors.filter(status=RecordError.Status.RESENT).count(),
        "detail_json": examples.pretty(run.detail) if run.detail else "",
    }


@staff_required
@require_POST
def run_resend(request, pk: int):
    """Send a run's rejected records again, with the edits made in the grid: one, or all open ones."""
    run = get_object_or_404(Run.objects.select_related("source__schema"), pk=pk)
    open_errors = run.record_errors.filter(status=RecordError.Status.OPEN).select_related("run")
    only = request.POST.get("only", "")
    # "only" names one record; one that is not an id must never widen to all of them.
    chosen = list(open_errors.filter(pk=parse_id(only)) if only else open_errors)
    if not chosen:
        messages.error(request, "There is no rejected record left to resend.")
        return redirect("ui:run", pk=pk)
    columns = json.loads(request.POST.get("columns") or "[]")
    fixed = {error.pk: fixed_record(error, columns, request.POST) for error in chosen}
    new_run = resend(chosen, fixed)
    messages.success(
        request,
        f"Resent {len(chosen)} record(s) as run #{new_run.pk}: {new_run.accepted} accepted, "
        f"{new_run.rejected} rejected.",
    )
    return redirect("ui:run", pk=new_run.pk)
