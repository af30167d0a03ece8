"""The web UI's pages for pipelines, runs, deliveries, CSV uploads, the dashboard and the demo.

Glue only: a form or a model method does the work (`Pipeline.preview`, `Delivery.replay`,
`pipelines.batches.resend`, `pipelines.uploads.start_upload`, `pipelines.demo.create`).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors import examples
from connectors.formats import BodyError
from connectors.models import Connector
from connectors.views import staff_required
from mailbox.models import backlog
from pipelines import demo
from pipelines.batches import resend
from pipelines.forms import (
    MODES,
    MappingForm,
    PipelineForm,
    fixed_record,
    grid_columns,
    grid_rows,
    parse_sample_records,
)
from pipelines.models import Delivery, Pipeline, RecordError, Run, Upload
from pipelines.query_params import parse_id
from pipelines.uploads import MAX_UPLOAD_BYTES, preview_rows, start_upload

PAGE_SIZE = 50
GRID_ROWS = 100
FAILING = (Delivery.Status.FAILED, Delivery.Status.DEAD)


def is_fetch(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def int_param(request, name: str) -> int | None:
    # A filter that is not an id is no filter: pages ignore what a hand-edited URL breaks.
    return parse_id(request.GET.get(name))


# --- Dashboard ----------------------------------------------------------------------------------


@staff_required
def dashboard(request):
    by_kind = dict(Connector.objects.values_list("kind").annotate(n=Count("id")))
    pipelines = Pipeline.objects.select_related("source", "destination")
    return render(
        request,
        "pipelines/dashboard.html",
        {
            "kinds": [
                {"kind": kind, "count": by_kind.get(kind.value, 0)} for kind in Connector.Kind
            ],
            "connector_count": sum(by_kind.values()),
            "pipelines": [health(p) for p in pipelines],
            "recent_runs": Run.objects.select_related("source")[:8],
            "totals": Run.objects.aggregate(
                runs=Count("id"),
                rejected=Count("id", filter=Q(rejected__gt=0)),
            ),
            "failing": Delivery.objects.filter(status__in=FAILING).count(),
            "pending": Delivery.objects.filter(
                status__in=(Delivery.Status.PENDING, Delivery.Status.DELIVERING)
            ).count(),
            "demo": demo.panel(request) if demo.exists() else None,
        },
    )


def health(pipeline: Pipeline) -> dict:
    """What the dashboard says about one pipeline: its last run, its backlog, failing deliveries."""
    deliveries = Delivery.objects.filter(pipeline=pipeline)
    return {
        "pipeline": pipeline,
        "last_run": Run.objects.filter(source=pipeline.source_id).first(),
        "backlog": backlog(pipeline.destination)
        if pipeline.destination.kind == Connector.Kind.MAILBOX
        else None,
        "failing": deliveries.filter(status__in=FAILING).count(),
        "pending": deliveries.filter(
            status__in=(Delivery.Status.PENDING, Delivery.Status.DELIVERING)
        ).count(),
    }


# --- Pipelines ------------------------------------------------------------------------------------


@staff_required
def pipeline_list(request):
    pipelines = Pipeline.objects.select_related("source", "destination").annotate(
        mapped=Count("mappings")
    )
    return render(request, "pipelines/list.html", {"rows": [health(p) for p in pipelines]})


@staff_required
def pipeline_new(request):
    initial = {key: request.GET[key] for key in ("source", "destination") if key in request.GET}
    form = PipelineForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        pipeline = form.save()
        messages.success(request, "Pipeline created. Review the mapping, preview it, and save.")
        return redirect("ui:pipeline", pk=pipeline.pk)
    return render(request, "pipelines/new.html", {"form": form})


@staff_required
def pipeline_edit(request, pk: int):
    pipeline = get_object_or_404(Pipeline.objects.select_related("source", "destination"), pk=pk)
    form = MappingForm(pipeline, request.POST if request.method == "POST" else None)
    sample = request.POST.get("sample") or examples.pretty(
        [examples.example_record(pipeline.source.schema.specs())]
    )
    preview = None
    if request.method == "POST":
        if request.POST.get("action") == "preview":
            preview = preview_unsaved(form, sample)
            if is_fetch(request):
                return render(request, "pipelines/_preview.html", {"preview": preview})
        elif form.is_valid():
            form.save()
            messages.success(request, "Mapping saved.")
            return redirect("ui:pipeline", pk=pk)
    return render(
        request,
        "pipelines/edit.html",
        {
            "pipeline": pipeline,
            "form": form,
            "modes": MODES,
            "sample": sample,
            "preview": preview,
        },
    )


def preview_unsaved(form: MappingForm, sample: str) -> dict:
    """`Pipeline.preview` of the mapping as edited, not as saved: applied in a transaction that
    is rolled back, so the preview runs the very code that `process` runs and changes nothing."""
    try:
        records = parse_sample_records(sample)
    except ValueError as exc:
        return {"error": str(exc)}
    if not form.is_valid():
        return {"error": "Fix the mapping first.", "mapping_errors": form_messages(form)}
    with transaction.atomic():
        form.pipeline.replace_mappings(form.mappings())
        result = form.pipeline.preview(records)
        transaction.set_rollback(True)
    result["rows"] = (
        [
            {
                "index": i,
                "input": examples.pretty(record),
                "output": examples.pretty(result["records"][i])
                if result["records"][i] is not None
                else None,
                "errors": [e for e in result["errors"] if e["index"] == i],
            }
            for i, record in enumerate(records)
        ]
        if "records" in result
        else []
    )
    return result


def form_messages(form: MappingForm) -> list[str]:
    return form.errors + [f"{row['target']}: {m}" for row in form.rows for m in row["errors"]]


@staff_required
@require_POST
def pipeline_delete(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    pipeline.delete()
    messages.success(request, f"Deleted the pipeline “{pipeline.name}”.")
    return redirect("ui:pipelines")


@staff_required
@require_POST
def pipeline_run(request, pk: int):
    """Pull the pipeline's HTTP source now (queued to the workers)."""
    from pipelines.pulling import SourceBusy, queue_pull

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


# --- Runs -------------------------------------------------------------------------------------------


@staff_required
def run_list(request):
    runs = Run.objects.select_related("source")
    filters = {
        "source": int_param(request, "source"),
        "pipeline": int_param(request, "pipeline"),
        "status": request.GET.get("status", ""),
        "trigger": request.GET.get("trigger", ""),
    }
    if filters["source"] is not None:
        runs = runs.filter(source_id=filters["source"])
    if filters["pipeline"] is not None:
        runs = runs.filter(source__outgoing_pipelines=filters["pipeline"])
    if filters["status"] in Run.Status.values:
        runs = runs.filter(status=filters["status"])
    if filters["trigger"] in Run.Trigger.values:
        runs = runs.filter(trigger=filters["trigger"])
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pipelines/runs.html",
        {
            "page": page,
            "runs": page.object_list,
            "filters": filters,
            "sources": Connector.objects.sources(),
            "pipelines": Pipeline.objects.all(),
            "statuses": Run.Status.choices,
            "triggers": Run.Trigger.choices,
            "query": query_without_page(request),
        },
    )


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@staff_required
def run_detail(request, pk: int):
    run = get_object_or_404(Run.objects.select_related("source__schema"), pk=pk)
    return render(request, "pipelines/run.html", run_context(run))


def run_context(run: Run) -> dict:
    open_errors = list(
        run.record_errors.filter(status=RecordError.Status.OPEN).select_related("pipeline")[
            :GRID_ROWS
        ]
    )
    columns = grid_columns(open_errors, [f.name for f in run.source.schema.fields.all()])
    return {
        "run": run,
        "stats": run.stats.select_related("pipeline"),
        "columns": columns,
        "columns_json": json.dumps(columns),
        "grid": grid_rows(open_errors, columns),
        "open_count": run.record_errors.filter(status=RecordError.Status.OPEN).count(),
        "resent_count": run.record_errors.filter(status=RecordError.Status.RESENT).count(),
        "deliveries": dict(run.deliveries.values_list("status").annotate(n=Count("id")).order_by()),
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


# --- Deliveries ---------------------------------------------------------------------------------------


@staff_required
def delivery_list(request):
    deliveries = Delivery.objects.select_related("pipeline", "destination")
    filters = {
        "status": request.GET.get("status", ""),
        "pipeline": int_param(request, "pipeline"),
        "destination": int_param(request, "destination"),
        "run": int_param(request, "run"),
    }
    if filters["status"] in Delivery.Status.values:
        deliveries = deliveries.filter(status=filters["status"])
    for key in ("pipeline", "destination", "run"):
        if filters[key] is not None:
            deliveries = deliveries.filter(**{f"{key}_id": filters[key]})
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    return render(
        request,
        "pipelines/deliveries.html",
        {
            "page": page,
            "deliveries": page.object_list,
            "filters": filters,
            "statuses": [
                (value, label, counts.get(value, 0)) for value, label in Delivery.Status.choices
            ],
            "pipelines": Pipeline.objects.filter(destination__kind=Connector.Kind.HTTP_DESTINATION),
            "query": query_without_page(request),
        },
    )


@staff_required
def delivery_detail(request, pk: int):
    delivery = get_object_or_404(
        Delivery.objects.select_related("pipeline", "destination", "run"), pk=pk
    )
    return render(
        request,
        "pipelines/delivery.html",
        {
            "delivery": delivery,
            "attempts": delivery.attempt_log.all(),
            "records_json": examples.pretty(delivery.records),
            "final": delivery.status in Delivery.FINAL,
        },
    )


@staff_required
@require_POST
def delivery_replay(request, pk: int):
    delivery = get_object_or_404(Delivery, pk=pk)
    if delivery.replay():
        messages.success(
            request, f"Delivery #{delivery.pk} is queued again (same Idempotency-Key)."
        )
    else:
        messages.error(
            request, f"Delivery #{delivery.pk} is {delivery.status}: it is already on its way."
        )
    return redirect(request.POST.get("next") or reverse("ui:delivery", args=[pk]))


@staff_required
@require_POST
def delivery_replay_dead(request):
    dead = Delivery.objects.filter(status=Delivery.Status.DEAD)
    pipeline = request.POST.get("pipeline", "")
    if pipeline.isdigit():
        dead = dead.filter(pipeline_id=int(pipeline))
    replayed = dead.replay_all()
    messages.success(request, f"Replayed {replayed} dead deliver{'y' if replayed == 1 else 'ies'}.")
    return redirect(f"{reverse('ui:deliveries')}?status=pending")


# --- CSV uploads -------------------------------------------------------------------------------------


def ingest_source(pk: int) -> Connector:
    return get_object_or_404(
        Connector.objects.select_related("schema"), pk=pk, kind=Connector.Kind.INGEST_ENDPOINT
    )


@staff_required
def upload_new(request, pk: int):
    source = ingest_source(pk)
    return render(
        request,
        "pipelines/upload_new.html",
        {
            "source": source,
            "fields": source.schema.fields.all(),
            "uploads": Upload.objects.filter(source=source).select_related("run")[:10],
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        },
    )


@staff_required
@require_POST
def upload_preview(request, pk: int):
    source = ingest_source(pk)
    preview = preview_rows(source, request.POST.get("head", ""), bool(request.POST.get("complete")))
    return render(request, "pipelines/_upload_preview.html", {"preview": preview})


@staff_required
@require_POST
def upload_create(request, pk: int):
    source = ingest_source(pk)
    file = request.FILES.get("file")
    error = ""
    if file is None:
        error = "Choose a CSV file to upload."
    elif file.size > MAX_UPLOAD_BYTES:
        error = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
    if not error:
        try:
            upload = start_upload(source, file.name, file.read())
        except BodyError as exc:
            error = exc.message
    if error:
        if is_fetch(request):
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error)
        return redirect("ui:upload_new", pk=pk)
    page = reverse("ui:upload", args=[upload.pk])
    if is_fetch(request):
        return JsonResponse(
            {
                "upload": upload.pk,
                "page_url": page,
                "progress_url": reverse("ui:upload_progress", args=[upload.pk]),
            },
            status=202,
        )
    return redirect(page)


@staff_required
def upload_detail(request, pk: int):
    upload = get_object_or_404(Upload.objects.select_related("source", "run"), pk=pk)
    context = {"upload": upload}
    if upload.run_id and upload.status == Upload.Status.DONE:
        context.update(
            run_context(Run.objects.select_related("source__schema").get(pk=upload.run_id))
        )
    return render(request, "pipelines/upload.html", context)


@staff_required
def upload_progress(request, pk: int):
    upload = get_object_or_404(Upload, pk=pk)
    return JsonResponse(
        {
            "status": upload.status,
            "total_rows": upload.total_rows,
            "processed_rows": upload.processed_rows,
            "percent": upload.percent,
            "run": upload.run_id,
            "error": upload.error,
        }
    )


# --- Demo workspace -------------------------------------------------------------------------------------


@staff_required
@require_POST
def demo_create(request):
    if demo.exists():
        messages.info(request, "The demo workspace is already there.")
        return redirect("ui:dashboard")
    tokens = demo.create(request.build_absolute_uri("/"))
    request.session[demo.SESSION_KEY] = tokens
    messages.success(request, "Demo workspace created. Send a few orders and watch them flow.")
    return redirect("ui:dashboard")


@staff_required
@require_POST
def demo_send(request):
    result = demo.send_sample_orders()
    messages.success(
        request,
        f"Sent {result['received']} demo orders: {result['accepted']} accepted, "
        f"{result['rejected']} rejected (on purpose: open the run to fix it).",
    )
    return redirect("ui:dashboard")


@staff_required
@require_POST
def demo_remove(request):
    removed = demo.remove()
    request.session.pop(demo.SESSION_KEY, None)
    messages.success(request, f"Removed the demo workspace ({removed} connectors and their data).")
    return redirect("ui:dashboard")


@csrf_exempt
def demo_echo(request, rest: str = ""):
    """A receiver for the demo's HTTP destination, served only under DEBUG: it answers 200 with
    what it got, and keeps the last few requests for the dashboard."""
    if not settings.DEBUG:
        raise Http404
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = request.body.decode("utf-8", errors="replace")
    demo.remember_echo(request.method, request.get_full_path(), dict(request.headers), body)
    return JsonResponse({"ok": True, "received": body})
