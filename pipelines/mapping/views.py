"""The pipeline editor's pages."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from connectors import examples
from connectors.views import is_fetch, staff_required
from pipelines.mapping.forms import MODES, MappingForm, PipelineForm, parse_sample_records
from pipelines.mapping.models import Pipeline

# --- Pipelines ------------------------------------------------------------------------------------


@staff_required
def pipeline_new(request):
    initial = {key: request.GET[key] for key in ("source", "destination") if key in request.GET}
    form = PipelineForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        pipeline = form.save()
        unmapped = pipeline.unmapped_required()
        if unmapped and pipeline.enabled:
            # Enabled now, it would reject every record until the mapping is saved.
            pipeline.enabled = False
            pipeline.save(update_fields=["enabled", "updated_at"])
            messages.warning(
                request, "Pipeline created, paused until its required fields are mapped."
            )
        else:
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
            "unmapped": pipeline.unmapped_required(),
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
