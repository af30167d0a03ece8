"""What an ingest endpoint does with a POST, whichever way the request came in.

`receive` is the whole flow: the body read once and size-checked, the sender verified over the
raw bytes, the rate limit, Slack's handshake, idempotency, parsing, then `accept_batch`. It takes
a plain Django request and returns a DRF `Response` (or raises an `APIException`), so the DRF
view (`IngestView`) and the lane for one-event-per-request senders (`pipelines.ingest.lane`)
answer alike.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

from connectors.formats import BodyError, media_type, parse_records, read_limited
from connectors.models import Connector
from connectors.secrets import UNDECRYPTABLE, is_undecryptable
from connectors.throttling import IngestRateThrottle
from connectors.verification import DEFAULT_TOLERANCE, VerificationFailed, Verified, slack_challenge
from osmosproject.metrics import record_verification_failure
from pipelines.ingest.models import VerificationFailure
from pipelines.runs.batches import (
    check_records,
    delivered_at_once,
    prepare_all,
    still_existing,
    store_all,
)
from pipelines.runs.models import IdempotencyKey, RecordError, Run

logger = logging.getLogger("superconnector.ingest")

# The response lists this many errors; all of them are kept with the run.
MAX_ERRORS_IN_RESPONSE = 100
# How long the connector page says the sender still signs with the previous secret.
PREVIOUS_SECRET_NOTICE_SECONDS = 7 * 24 * 3600
MAX_IDEMPOTENCY_KEY = IdempotencyKey._meta.get_field("key").max_length


def receive(request, connector: Connector) -> Response:
    """Answer a POST of records to `connector` (a Django request, not DRF's)."""
    try:
        # The size check comes first (413), and the raw bytes are what signatures cover:
        # read before any parser touches the stream.
        body = read_body(request)
    except BodyError as exc:
        return body_error_response(exc)
    verified = verify_sender(connector, request, body)
    if not connector.enabled:
        return disabled_response()
    wait = IngestRateThrottle.wait_for(connector)
    if wait:
        raise exceptions.Throttled(wait)
    challenge = slack_challenge(body)
    if challenge is not None:
        # Slack's handshake when its Request URL is saved: answered, nothing stored.
        return Response({"challenge": challenge})
    try:
        # The header as sent: its charset parameter decides a 415.
        kind = media_type(request.META.get("CONTENT_TYPE", ""))
    except BodyError as exc:
        return body_error_response(exc)
    key = request.headers.get("Idempotency-Key")
    if key is not None and (problem := idempotency_key_problem(key)):
        return Response({"detail": problem}, status=status.HTTP_400_BAD_REQUEST)
    key = key or ""
    fresh_since = None
    if verified.event_id:
        # A repeat of a signed event (a sender's retry, or a captured request replayed
        # within the tolerance) is answered as the first was; older ones fail the timestamp.
        key = event_key(verified.event_id)
        fresh_since = timezone.now() - event_window(connector)
    body_hash = ""
    if key:
        # Only a keyed request is compared with an earlier one: no hash (nor a copy of a
        # 10 MB body) for the others.
        digest = hashlib.sha256(kind.encode() + b"\0")
        digest.update(body)
        body_hash = digest.hexdigest()
        replay = replay_idempotent(connector, key, body_hash, fresh_since)
        if replay is not None:
            return replay
    try:
        records = parse_records(body, kind, max_records=settings.INGEST_MAX_RECORDS)
    except BodyError as exc:
        return body_error_response(exc)
    del body  # bounded memory: keep the parsed records only
    return accept_batch(connector, records, key=key, body_hash=body_hash, fresh_since=fresh_since)


def disabled_response() -> Response:
    return Response({"detail": "This endpoint is disabled."}, status=status.HTTP_403_FORBIDDEN)


def verify_sender(connector: Connector, request, body: bytes) -> Verified:
    """The sender's proof checked against the connector's setting; a 401 when it fails."""
    if is_undecryptable(connector.verification):
        # Never fall back to a weaker check: the owner must restore the key or re-enter it.
        refuse(connector, VerificationFailed(f"the verification setting {UNDECRYPTABLE}"))
    try:
        verified = connector.verify_sender(request.headers, body, time.time(), query=request.GET)
    except VerificationFailed as exc:
        refuse(connector, exc)
    if verified.by_previous_secret:
        logger.warning(
            "ingest connector=%s: the sender still uses the previous secret",
            connector.slug,
            extra={"event": "previous_secret_used", "connector": connector.slug},
        )
        cache.set(previous_secret_key(connector.pk), timezone.now(), PREVIOUS_SECRET_NOTICE_SECONDS)
    return verified


def refuse(connector: Connector, exc: VerificationFailed):
    """Keep the failure for the connector's page and /metrics, and answer 401 with its reason
    (which never carries the expected value)."""
    scheme = connector.verification.get("scheme", "token")
    VerificationFailure.record(connector, scheme, exc.reason)
    record_verification_failure(connector.slug, exc.kind, exc.reason)
    raise exceptions.AuthenticationFailed(exc.reason)


def previous_secret_key(connector_id: int) -> str:
    return f"ingest:previous-secret-used:{connector_id}"


def previous_secret_used_at(connector_id: int):
    """When the sender last proved itself with the previous secret only (recently), else None."""
    return cache.get(previous_secret_key(connector_id))


def event_window(connector: Connector) -> timedelta:
    """How long an event id is remembered: twice the tolerance. A timestamp passes within the
    tolerance either way of now, so a request first answered at its timestamp's earliest (the
    sender's clock ahead) still passes a tolerance later; remembered for one tolerance only,
    its replay then would be stored again."""
    tolerance = connector.verification.get("tolerance_seconds", DEFAULT_TOLERANCE)
    return timedelta(seconds=2 * tolerance)


def event_key(event_id: str) -> str:
    key = f"event:{event_id}"
    if len(key) > 255:
        # The column holds 255 characters; a longer id is kept as its digest.
        key = "event-sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
    return key


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
            content_length = -1
        if content_length < 0:
            # A negative length is no more a size than "abc" (it broke the read: a 500).
            raise BodyError(400, "Content-Length is not a size in bytes.")
        stream = request
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


def replay_idempotent(
    connector: Connector, key: str, body_hash: str, fresh_since=None
) -> Response | None:
    """The first answer to this key, if any; `fresh_since` ignores older ones (event ids)."""
    stored = IdempotencyKey.objects.filter(connector=connector, key=key)
    if fresh_since is not None:
        stored = stored.filter(created_at__gte=fresh_since)
    stored = stored.first()
    if stored is None:
        return None
    if stored.body_hash != body_hash:
        what = "event id" if fresh_since is not None else "Idempotency-Key"
        return Response(
            {"detail": f"This {what} was already used with a different body."},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(
        stored.response, status=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )


def accept_batch(
    connector: Connector, records: list, *, key: str = "", body_hash: str = "", fresh_since=None
) -> Response:
    """Validate and store `records` (a list it empties) as one run; 202, or 422 when refused."""
    validator = connector.schema.compile(drop_unknown=connector.drop_unknown_fields)
    accepted, accepted_indices, rejected = check_records(validator, records)
    received = len(records)
    # Taken over: the good records were copied, cleaned, into `accepted` and the rejected ones
    # are in `rejected`, so the list as parsed is emptied here (the caller's reference too),
    # and a 10 MB body's parsed dicts are freed before mapping and encoding add their copies.
    records.clear()
    flat_errors = [{"index": index, **error} for index, _, errors in rejected for error in errors]
    summary = {
        "received": received,
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
    prepared = prepare_all(connector.pk, accepted, accepted_indices)
    # The prepared batches are all the transaction needs: the cleaned records (about a body's
    # size again) are freed before it adds its own buffers to the peak.
    del accepted, accepted_indices
    for last_try in (False, True):
        try:
            with transaction.atomic():
                if key and fresh_since is not None:
                    # An event id seen before the tolerance window is a new delivery.
                    IdempotencyKey.objects.filter(
                        connector=connector, key=key, created_at__lt=fresh_since
                    ).delete()
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
                    received=received,
                    accepted=summary["accepted"],
                    rejected=len(rejected),
                    delivered=delivered_at_once(prepared),
                    idempotency_key=key,
                )
                body = {"run": run.pk, **summary}
                if key:
                    idem.response = body
                    idem.save(update_fields=["response"])
                RecordError.keep(run, rejected)
                store_all(run, prepared, new_run=True)
        except IntegrityError:
            if (
                key
                and (replay := replay_idempotent(connector, key, body_hash, fresh_since))
                is not None
            ):
                return replay
            if not Connector.objects.filter(pk=connector.pk).exists():
                # Deleted while this request was stored: nothing was kept, and the sender is
                # told what its next request would be told.
                raise exceptions.NotFound(
                    f"The ingest endpoint '{connector.slug}' was deleted; nothing was stored."
                ) from None
            if last_try:
                raise
            # A pipeline deleted meanwhile fails the commit on its foreign keys: store again
            # without it (as if this request had committed just before the delete) rather than
            # answer 500 for what the sender did right.
            prepared = still_existing(prepared)
            continue
        return Response(body, status=status.HTTP_202_ACCEPTED)
