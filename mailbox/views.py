"""The mailbox: customers poll `GET /api/v1/mailbox/{slug}/` for records and acknowledge what they took."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.api import RecordSchemaView
from connectors.endpoint_auth import BearerTokenAuthentication
from connectors.models import Connector
from connectors.parsers import JSONParser
from connectors.schema import describe
from connectors.throttling import MailboxRateThrottle
from mailbox.cursors import InvalidCursor, decode_cursor, encode_cursor
from mailbox.models import ConsumerCursor, MailboxRecord
from mailbox.polling import wait_for_records
from mailbox.renderers import RENDERERS, MailboxPage

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_WAIT_SECONDS = 30
DEFAULT_CONSUMER = "default"
CONSUMER_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


class BadParameter(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, param: str, message: str):
        super().__init__({"detail": message, "param": param})


@dataclass(frozen=True)
class PollQuery:
    after: int | None
    limit: int
    wait: float
    consumer: str
    raw_csv: bool = False

    @classmethod
    def parse(cls, params: QueryDict, mailbox: Connector) -> PollQuery:
        after = params.get("after")
        if after is not None:
            try:
                after = decode_cursor(mailbox.pk, after)
            except InvalidCursor as exc:
                raise BadParameter("after", str(exc)) from None
        return cls(
            after=after,
            limit=_limit(params.get("limit")),
            wait=_wait(params.get("wait")),
            consumer=consumer_name(params.get("consumer")),
            raw_csv=_raw_csv(params.get("csv_formulas")),
        )


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameter(
            "limit", f"limit must be a whole number from 1 to {MAX_LIMIT}, not {describe(text)}."
        )
    return limit


def _wait(text: str | None) -> float:
    if text is None:
        return 0.0
    try:
        wait = float(text)
    except ValueError:
        wait = math.nan
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise BadParameter(
            "wait",
            f"wait must be a number of seconds from 0 to {MAX_WAIT_SECONDS}, not {describe(text)}.",
        )
    return wait


def _raw_csv(text: str | None) -> bool:
    if text is None or text == "escape":
        return False
    if text == "raw":
        return True
    raise BadParameter("csv_formulas", f"csv_formulas must be escape or raw, not {describe(text)}.")


def consumer_name(text: str | None) -> str:
    if text is None or text == "":
        return DEFAULT_CONSUMER
    if not CONSUMER_NAME.fullmatch(text):
        raise BadParameter(
            "consumer",
            "consumer must be 1 to 100 letters, digits, '.', '_' or '-'.",
        )
    return text


class MailboxEndpoint(APIView):
    """What the poll and the acknowledgement share: the mailbox's token, its rate, JSON errors."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [MailboxRateThrottle]
    kind = Connector.Kind.MAILBOX

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.auth.enabled:
            raise exceptions.PermissionDenied("This mailbox is disabled.")

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON even when the records were asked for as NDJSON or CSV.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


PageSchema = inline_serializer(
    "MailboxPage",
    {
        "records": inline_serializer(
            "MailboxRecord",
            {
                "id": serializers.IntegerField(
                    help_text="Sequence number: increases in order of arrival."
                ),
                "created_at": serializers.DateTimeField(),
                "data": serializers.DictField(
                    help_text="The record; always satisfies the mailbox's schema."
                ),
            },
            many=True,
        ),
        "next": serializers.CharField(
            help_text="Cursor after the last record returned: pass it as `after`, or acknowledge it."
        ),
        "has_more": serializers.BooleanField(help_text="More records are waiting after `next`."),
    },
)
ErrorSchema = inline_serializer(
    "MailboxError",
    {"detail": serializers.CharField(), "param": serializers.CharField(required=False)},
)
# Errors are JSON whatever the Accept header asked for (see MailboxEndpoint.finalize_response).
ERRORS = {(code, "application/json"): ErrorSchema for code in (400, 401, 403, 404, 406, 429)}


class MailboxView(MailboxEndpoint):
    renderer_classes = RENDERERS

    @extend_schema(
        operation_id="mailbox_poll",
        summary="Poll a mailbox for records",
        description=(
            "Records in order of arrival after a cursor. Without `after`, reading starts after the "
            "consumer's acknowledged cursor. `Accept: application/x-ndjson` returns one record's data per "
            "line and `Accept: text/csv` one row per record under a header row of the schema's field "
            "names; both carry the cursor in `X-Next-Cursor` and `X-Has-More` headers (the JSON response "
            "has them too). Authenticate with `Authorization: Bearer <token>` of this mailbox."
        ),
        parameters=[
            OpenApiParameter(
                "after",
                str,
                description="A cursor from `next` (default: the consumer's acknowledged cursor).",
            ),
            OpenApiParameter(
                "limit",
                int,
                description=f"Records per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
            ),
            OpenApiParameter(
                "wait",
                float,
                description=f"Long poll: when nothing is waiting, hold the request up to this many seconds (0 to {MAX_WAIT_SECONDS}) and answer as soon as a record arrives.",
            ),
            OpenApiParameter(
                "consumer",
                str,
                description="Consumer name; each has its own acknowledged cursor (default `default`).",
            ),
            OpenApiParameter(
                "csv_formulas",
                str,
                enum=["escape", "raw"],
                description="CSV only. `escape` (default): a text cell starting with =, +, -, @, "
                "tab or carriage return gets a leading `'` so that spreadsheets do not run it "
                "as a formula. `raw`: cells exactly as the data, for programs.",
            ),
        ],
        responses={
            (200, "application/json"): PageSchema,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            **ERRORS,
        },
        auth=[{"bearerAuth": []}],
    )
    def get(self, request, slug: str):
        mailbox: Connector = request.auth
        query = PollQuery.parse(request.query_params, mailbox)
        position = (
            query.after
            if query.after is not None
            else ConsumerCursor.register(mailbox, query.consumer)
        )
        rows = MailboxRecord.objects.page(mailbox.pk, position, query.limit)
        if not rows and query.wait and wait_for_records(mailbox.pk, position, query.wait):
            rows = MailboxRecord.objects.page(mailbox.pk, position, query.limit)
        has_more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = encode_cursor(mailbox.pk, rows[-1][0] if rows else position)
        page = MailboxPage(
            mailbox=mailbox,
            rows=rows,
            next_cursor=next_cursor,
            has_more=has_more,
            raw_csv=query.raw_csv,
        )
        return Response(
            page,
            headers={"X-Next-Cursor": next_cursor, "X-Has-More": "true" if has_more else "false"},
        )


class AckRequest(serializers.Serializer):
    cursor = serializers.CharField(help_text="A `next` cursor this mailbox returned.")
    consumer = serializers.CharField(required=False, help_text="Consumer name (default `default`).")


AckResponse = inline_serializer(
    "MailboxAck",
    {
        "consumer": serializers.CharField(),
        "position": serializers.IntegerField(help_text="Id of the last acknowledged record."),
        "cursor": serializers.CharField(
            help_text="The committed cursor (newer than the one sent if another acknowledgement got further)."
        ),
    },
)


class AckView(MailboxEndpoint):
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="mailbox_ack",
        summary="Acknowledge records taken from a mailbox",
        description=(
            "Commits the consumer's cursor: records up to it are taken. Monotonic: acknowledging an "
            "older cursor never moves the consumer back. Acknowledged records are purged once every "
            "consumer has acknowledged them and they are older than the mailbox's retention."
        ),
        parameters=[
            OpenApiParameter("consumer", str, description="Consumer name, when not in the body.")
        ],
        request=AckRequest,
        responses={200: AckResponse, **ERRORS},
        auth=[{"bearerAuth": []}],
    )
    def post(self, request, slug: str):
        mailbox: Connector = request.auth
        body = AckRequest(data=request.data)
        body.is_valid(raise_exception=True)
        consumer = consumer_name(
            body.validated_data.get("consumer") or request.query_params.get("consumer")
        )
        try:
            position = decode_cursor(mailbox.pk, body.validated_data["cursor"])
        except InvalidCursor as exc:
            raise BadParameter("cursor", str(exc)) from None
        committed = ConsumerCursor.commit(mailbox, consumer, position)
        return Response(
            {
                "consumer": consumer,
                "position": committed,
                "cursor": encode_cursor(mailbox.pk, committed),
            }
        )


class MailboxSchemaView(RecordSchemaView):
    kind = Connector.Kind.MAILBOX

    @extend_schema(
        operation_id="mailbox_record_schema",
        summary="The JSON Schema of one record a mailbox hands out",
        description=(
            "JSON Schema (draft 2020-12) of a record's `data`: the mailbox's fields in their "
            "canonical form (strict types, no nulls, nothing else). Readable with "
            "`Authorization: Bearer <token>` of this mailbox, or by staff."
        ),
        responses={
            200: OpenApiResponse(
                {"type": "object", "additionalProperties": True},
                description="A JSON Schema (2020-12).",
            ),
            **{code: ErrorSchema for code in (401, 403, 404)},
        },
        auth=[{"bearerAuth": []}, {"tokenAuth": []}, {"cookieAuth": []}],
    )
    def get(self, request, slug: str):
        return super().get(request, slug)
