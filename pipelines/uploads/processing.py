"""CSV files uploaded from the browser: previewed at once, processed by a worker in chunks.

The request only stores the file and queues `process_upload`; the worker parses it, validates
and passes on a chunk of rows per transaction (so a big file never holds the database for
long), and moves `processed_rows` forward, which the page's progress bar polls.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.formats import CSV, BodyError, parse_records
from connectors.models import Connector
from connectors.schema import get_path
from pipelines.runs.batches import accept_into_run, finish_run
from pipelines.runs.models import Run
from pipelines.uploads.models import Upload

logger = logging.getLogger("pipelines.uploads")

CHUNK_ROWS = 1000
MAX_UPLOAD_BYTES = getattr(settings, "UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
PREVIEW_ROWS = 20
# Errors listed when an all-or-nothing source refuses a file.
REFUSAL_ERRORS = 20


def start_upload(source: Connector, filename: str, content: bytes) -> Upload:
    """Store the file and queue it for a worker; BodyError when it cannot be read as text."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"The file is not UTF-8 text (byte {exc.start}).") from None
    upload = Upload.objects.create(
        source=source, filename=filename[:255], content=text, size_bytes=len(content)
    )
    async_task("pipelines.uploads.processing.process_upload", upload.pk, group="uploads")
    return upload


def process_upload(upload_id: int) -> str:
    """Worker entry point: the upload's final status. Claimed with a guarded update, so a task
    delivered twice processes the file once."""
    claimed = Upload.objects.filter(pk=upload_id, status=Upload.Status.PENDING).update(
        status=Upload.Status.PROCESSING
    )
    if not claimed:
        return "skipped"
    upload = Upload.objects.select_related("source__schema").get(pk=upload_id)
    try:
        records = parse_records(upload.content.encode(), CSV)
    except BodyError as exc:
        return fail(upload, exc.message + row_suffix(exc))
    if upload.source.all_or_nothing:
        problems = refusal(upload.source, records)
        if problems:
            return fail(upload, problems)
    run = Run.objects.create(source=upload.source, trigger=Run.Trigger.UPLOAD)
    Upload.objects.filter(pk=upload.pk).update(run=run, total_rows=len(records))
    try:
        for start in range(0, len(records), CHUNK_ROWS):
            with transaction.atomic():
                accept_into_run(run, records[start : start + CHUNK_ROWS], first_index=start)
            Upload.objects.filter(pk=upload.pk).update(
                processed_rows=min(start + CHUNK_ROWS, len(records))
            )
    except Exception:
        # The chunks done so far are committed and counted; the run says where it stopped.
        logger.exception("upload=%s failed", upload.pk)
        finish_run(run.pk, error="The upload stopped unexpectedly; see the server log.")
        return fail(upload, "The upload stopped unexpectedly; the rows counted so far are kept.")
    finish_run(run.pk)
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.DONE, content="", finished_at=timezone.now()
    )
    return Upload.Status.DONE


def fail(upload: Upload, message: str) -> str:
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.FAILED, error=message, content="", finished_at=timezone.now()
    )
    return Upload.Status.FAILED


def row_suffix(exc: BodyError) -> str:
    row = exc.detail.get("row") if exc.detail else None
    return f" (row {row})" if row else ""


def refusal(source: Connector, records: list) -> str:
    """Why an all-or-nothing source refuses the whole file, or "" when every row is valid."""
    validator = source.schema.compile(drop_unknown=source.drop_unknown_fields)
    problems = []
    for index, record in enumerate(records):
        _, errors = validator.validate(record)
        problems.extend(f"row {index + 1}, {e['field']}: {e['message']}" for e in errors)
        if len(problems) >= REFUSAL_ERRORS:
            break
    if not problems:
        return ""
    return "This source accepts all rows or none; nothing was stored. " + "; ".join(problems)


def preview_rows(source: Connector, head: str, complete: bool) -> dict:
    """The first rows of a file as the source schema reads them: values, or errors per cell."""
    if not complete and "\n" in head:
        head = head[: head.rindex("\n") + 1]  # a row cut by the 64 KB slice is left out
    try:
        records = parse_records(head.encode(), CSV, max_records=None)
    except BodyError as exc:
        return {"error": exc.message + row_suffix(exc)}
    records = records[:PREVIEW_ROWS]
    fields = [f.name for f in source.schema.fields.all()]
    validator = source.schema.compile(drop_unknown=source.drop_unknown_fields)
    header = list(records[0]) if records else []
    rows = []
    for index, record in enumerate(records):
        clean, errors = validator.validate(record)
        by_field = {e["field"]: e["message"] for e in errors}
        rows.append(
            {
                "row": index + 1,
                "ok": not errors,
                "cells": [
                    {
                        "error": by_field.get(f),
                        "value": "" if clean is None else clean_cell(clean, f),
                    }
                    for f in fields
                ],
                "raw": [record.get(f, "") for f in fields],
            }
        )
    return {
        "fields": fields,
        "rows": rows,
        "missing": [f for f in fields if f not in header and "." not in f],
        "extra": [h for h in header if h not in fields],
    }


def clean_cell(record: dict, field: str):
    value = get_path(record, field)
    return "" if value is None else value
