"""The CSV uploader's pages."""

from __future__ import annotations

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors.formats import BodyError
from connectors.models import Connector
from connectors.views import is_fetch, staff_required
from pipelines.runs.models import Run
from pipelines.runs.views import run_context
from pipelines.uploads.models import Upload
from pipelines.uploads.processing import MAX_UPLOAD_BYTES, preview_rows, start_upload

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
