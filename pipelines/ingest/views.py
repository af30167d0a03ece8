"""The ingest endpoint: customers POST records to `POST /api/v1/ingest/{slug}/`."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import IntegrityError, transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.endpoint_auth import BearerTokenAuthentication
from connectors.formats import BodyError, media_type, parse_records, read_limited
from connectors.models import Connector
from connectors.throttling import IngestRateThrottle
from pipelines.runs.batches import check_records, keep_rejected, prepare_all, store_all
from pipelines.runs.models import IdempotencyKey, Run

# The response lists this many errors; all of them are kept with the run.
MAX_ERRORS_IN_RESPONSE = 100
MAX_IDEMPOTENCY_KEY = IdempotencyKey._meta.get_field("key").max_length


IngestResponse = inline_serializer(
    "IngestResponse",
    {
        "run": serializers.IntegerField(),
        "received": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField()),
    },
)
ErrorResponse = inline_serializer("IngestError", {"detail": serializers.CharField()})


class IngestView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [AllowAny]
    kind = Connector.Kind.INGEST_ENDPOINT

    @extend_schema(
        operation_id="ingest_records",
        summary="Send records to an ingest endpoint",
        description=(
            'Body: a JSON object (one record), a JSON array, {"records": [...]}, NDJSON '
            "(application/x-ndjson) or CSV with a header row (text/csv). Authenticate with "
            "`Authorization: Bearer <token>` of this connector."
        ),
        request={
            "application/json": {"type": "object"},
            "application/x-ndjson": {"type": "string"},
            "text/csv": {"type": "string"},
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="1 to 255 printable characters; a repeat with the same key and "
                "body gets the first response.",
            )
        ],
        responses={
            202: IngestResponse,
            400: ErrorResponse,
            401: ErrorResponse,
            403: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
            413: ErrorResponse,
            415: ErrorResponse,
            422: IngestResponse,
            429: ErrorResponse,
        },
        auth=[{"bearerAuth": []}],
    )
    def post(self, request, slug: str):
        connector: Connector = request.auth
        if not connector.enabled:
            return Response(
                {"detail": "This endpoint is disabled."}, status=status.HTTP_403_FORBIDDEN
            )
        throttle = IngestRateThrottle()
        if not throttle.allow_request(request, self):
            self.throttled(request, throttle.wait())
        try:
            body = read_body(request)
            kind = media_type(request.content_type or "")
        except BodyError as exc:
            return body_error_response(exc)
        key = request.headers.get("Idempotency-Key")
        if key is not None and (problem := idempotency_key_problem(key)):
            return Response({"detail": problem}, status=status.HTTP_400_BAD_REQUEST)
        key = key or ""
        body_hash = ""
        if key:
            # Only a keyed request is compared with an earlier one: no hash (nor a copy of a
            # 10 MB body) for the others.
            digest = hashlib.sha256(kind.encode() + b"\0")
            digest.update(body)
            body_hash = digest.hexdigest()
            replay = replay_idempotent(connector, key, body_hash)
            if replay is not None:
                return replay
        try:
            records = parse_records(body, kind, max_records=settings.INGEST_MAX_RECORDS)
        except BodyError as exc:
            return body_error_response(exc)
        del body  # bounded memory: keep the parsed records only
        return accept_batch(connector, records, key=key, body_hash=body_hash)


def idempotency_key_problem(key: str) -> str | None:
    """Why a sent Idempotency-Key cannot be kept, or None. Checked here, not left to the
    database: PostgreSQL refuses a value over the column's length (a 500), SQLite keeps it."""
    if not key.strip():
        return "Idempotency-Key is empty; send a key or leave the header out."
    if len(key) > MAX_IDEMPOTENCY_KEY:
        return f"Idempotency-Key is {len(key)} characters; at most {MAX_IDEMPOTENCY_KEY}."
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        return "Idempotency-Key contains control characters; use printable characters only."
    return None


def read_body(request) -> bytes:
    length = request.META.get("CONTENT_LENGTH")
    if length:
        try:
            content_length = int(length)
        except ValueError:
            raise BodyError(400, "Content-Length is not a number.") from None
        stream = request._request
    else:
        # Chunked bodies carry no Content-Length; Django would read them as empty.
        content_length = None
        stream = (
            request.META.get("wsgi.input") if request.META.get("HTTP_TRANSFER_ENCODING") else None
        )
    if stream is None:
        return b""
    return read_limited(stream, content_length, settings.INGEST_MAX_BODY_BYTES)


def body_error_response(exc: BodyError) -> Response:
    return Response({"detail": exc.message, **exc.detail}, status=exc.status)


def replay_idempotent(connector: Connector, key: str, body_hash: str) -> Response | None:
    stored = IdempotencyKey.objects.filter(connector=connector, key=key).first()
    if stored is None:
        return None
    if stored.body_hash != body_hash:
        return Response(
            {"detail": "This Idempotency-Key was already used with a different body."},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(
        stored.response, status=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )


def accept_batch(
    connector: Connector, records: list, *, key: str = "", body_hash: str = ""
) -> Response:
    validator = connector.schema.compile(drop_unknown=connector.drop_unknown_fields)
    accepted, accepted_indices, rejected = check_records(validator, records)
    flat_errors = [{"index": index, **error} for index, _, errors in rejected for error in errors]
    summary = {
        "received": len(records),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "errors": flat_errors[:MAX_ERRORS_IN_RESPONSE],
    }
    if len(flat_errors) > MAX_ERRORS_IN_RESPONSE:
        summary["errors_truncated"] = True
        summary["error_count"] = len(flat_errors)
    if rejected and connector.all_or_nothing:
        summary.update(
            accepted=0, detail="The batch was refused whole: fix the errors and send it again."
        )
        return Response({"run": None, **summary}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    # Mapping and encoding happen before the transaction: it only writes, so the database's
    # write lock (all of SQLite, the mailbox's sequence row in PostgreSQL) is held briefly.
    # A pipeline deleted meanwhile fails the commit on its foreign keys: prepare once more
    # without it rather than answer 500 for what the sender did right.
    for last_try in (False, True):
        prepared = prepare_all(connector.pk, accepted, accepted_indices)
        try:
            with transaction.atomic():
                if key:
                    # Inserted first: a concurrent repeat of this key waits here, then fails on
                    # the unique constraint and replays this response instead of storing a
                    # second run.
                    idem = IdempotencyKey.objects.create(
                        connector=connector, key=key, body_hash=body_hash
                    )
                run = Run.create_finished(
                    source=connector,
                    trigger=Run.Trigger.INGEST,
                    received=len(records),
                    accepted=len(accepted),
                    rejected=len(rejected),
                    delivered=sum(batch.delivered for batch in prepared),
                    idempotency_key=key,
                )
                keep_rejected(run, rejected)
                store_all(run, prepared, new_run=True)
                body = {"run": run.pk, **summary}
                if key:
                    idem.response = body
                    idem.save(update_fields=["response"])
        except IntegrityError:
            if key and (replay := replay_idempotent(connector, key, body_hash)) is not None:
                return replay
            if last_try:
                raise
            continue
        return Response(body, status=status.HTTP_202_ACCEPTED)
