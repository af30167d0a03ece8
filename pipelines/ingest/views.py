"""The ingest endpoint: customers POST records to `POST /api/v1/ingest/{slug}/`.

The sender proves itself as the connector's `verification` says (docs/ingest.md): the endpoint
token, or a signature over the raw body. What a POST does is `pipelines.ingest.receive`; most
POSTs reach it through the lane (`pipelines.ingest.lane`), the rest through this view, which
also answers the subscription check (GET) and describes the endpoint in the OpenAPI schema.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from connectors.api import RecordSchemaView
from connectors.endpoint_auth import SenderAuthentication
from connectors.models import Connector
from connectors.verification import VerificationFailed, hub_challenge
from pipelines.ingest.receive import disabled_response, receive, refuse

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
RECORD_SCHEMA = OpenApiResponse(
    {"type": "object", "additionalProperties": True}, description="A JSON Schema (2020-12)."
)


class IngestView(APIView):
    authentication_classes = [SenderAuthentication]
    permission_classes = [AllowAny]
    kind = Connector.Kind.INGEST_ENDPOINT

    @extend_schema(
        operation_id="ingest_records",
        summary="Send records to an ingest endpoint",
        description=(
            'Body: a JSON object (one record), a JSON array, {"records": [...]}, NDJSON '
            "(application/x-ndjson) or CSV with a header row (text/csv). The sender proves "
            "itself as the connector's `verification` says: `Authorization: Bearer <token>` "
            "of this connector by default, or a signature (GitHub, Stripe, Slack, Shopify, "
            "Standard Webhooks, HMAC) or HTTP Basic. A 401 says what failed."
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
        return receive(request._request, request.auth)

    @extend_schema(
        operation_id="ingest_subscription_check",
        summary="Answer a subscription check (WebSub, Meta webhooks)",
        description=(
            "`GET ?hub.mode=subscribe&hub.challenge=...` answers the challenge as plain text. "
            "When `hub.verify_token` is sent, it must be this endpoint's token. Any other GET "
            "is 405."
        ),
        parameters=[
            OpenApiParameter("hub.mode", str),
            OpenApiParameter("hub.challenge", str),
            OpenApiParameter("hub.verify_token", str),
        ],
        responses={(200, "text/plain"): str, 401: ErrorResponse, 405: ErrorResponse},
        auth=[],
    )
    def get(self, request, slug: str):
        connector: Connector = request.auth
        try:
            challenge = hub_challenge(request.query_params, check_token=connector.check_token)
        except VerificationFailed as exc:
            refuse(connector, exc)
        if challenge is None:
            raise exceptions.MethodNotAllowed(request.method)
        if not connector.enabled:
            return disabled_response()
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")


class IngestSchemaView(RecordSchemaView):
    kind = Connector.Kind.INGEST_ENDPOINT

    @extend_schema(
        operation_id="ingest_record_schema",
        summary="The JSON Schema of one record an ingest endpoint accepts",
        description=(
            "JSON Schema (draft 2020-12) of one record, derived from the endpoint's schema: "
            'every value the endpoint accepts is described, coercible text included ("42" '
            "for an integer), so a record it accepts is never rejected for its shape. Readable "
            "with `Authorization: Bearer <token>` of this endpoint, or by staff."
        ),
        responses={200: RECORD_SCHEMA, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse},
        auth=[{"bearerAuth": []}, {"tokenAuth": []}, {"cookieAuth": []}],
    )
    def get(self, request, slug: str):
        return super().get(request, slug)
