"""`GET /api/v1/connectors/{id}/openapi/`: an OpenAPI 3.1 document for one connector's endpoints.

An ingest endpoint's POST or a mailbox's poll and acknowledgement, at the connector's own
paths, with its published record schema (connectors/json_schema.py) in the bodies: enough to
generate a typed client for that one endpoint. Built here, at the top of `pipelines`, because
it describes both the ingest flow and the mailbox.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.models import Connector
from connectors.verification import REGISTRY as VERIFICATION_SCHEMES
from mailbox.views import DEFAULT_CONSUMER, DEFAULT_LIMIT, MAX_LIMIT, MAX_WAIT_SECONDS
from pipelines.ingest.receive import MAX_ERRORS_IN_RESPONSE

OPENAPI_VERSION = "3.1.0"
RECORD = {"$ref": "#/components/schemas/Record"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str, **extra) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {
        400: "Malformed body or parameter; `detail` says what and where.",
        401: "Missing or wrong credentials.",
        403: "The endpoint is disabled.",
        404: "No such endpoint.",
        406: "The Accept header asks for a format this endpoint does not write.",
        409: "This Idempotency-Key was already used with a different body.",
        413: f"Body larger than {settings.INGEST_MAX_BODY_BYTES} bytes.",
        415: "Unsupported Content-Type.",
        429: "Too many requests: wait `Retry-After` seconds.",
    }
    responses = {str(code): _json(ERROR, meaning[code]) for code in codes}
    if "429" in responses:
        responses["429"]["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return responses


def _ingest_security(connector: Connector) -> tuple[dict, list]:
    """Security schemes and requirements of the connector's sender verification."""
    config = connector.verification or {}
    name = config.get("scheme", "token")
    if name == "token":
        schemes = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    elif name == "basic":
        schemes = {"basicAuth": {"type": "http", "scheme": "basic"}}
    else:
        scheme = VERIFICATION_SCHEMES[name]
        headers = (config["header"],) if name == "hmac" else scheme.sender_headers
        schemes = {
            f"{name}Signature{i or ''}": {
                "type": "apiKey",
                "in": "header",
                "name": header,
                "description": f"{scheme.label}: see docs/ingest.md for how to sign.",
            }
            for i, header in enumerate(headers)
        }
    requirements = [{key: [] for key in schemes}]
    if config.get("allow_query_token"):
        schemes["queryToken"] = {"type": "apiKey", "in": "query", "name": "token"}
        requirements.append({"queryToken": []})
    return schemes, requirements


def _ingest_paths(connector: Connector, path: str) -> dict[str, Any]:
    fields = ", ".join(f.name for f in connector.schema.fields.all()) or "(none)"
    result = {"$ref": "#/components/schemas/IngestResult"}
    responses = {
        "202": _json(result, "Received: valid records go on, invalid ones are listed."),
        **_errors(400, 401, 403, 404, 409, 413, 415, 429),
    }
    if connector.all_or_nothing:
        responses["422"] = _json(result, "Some record is invalid: the batch was refused whole.")
    return {
        path: {
            "post": {
                "operationId": "sendRecords",
                "summary": f"Send records to {connector.name}",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A repeat with the same key and body returns the first answer.",
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "anyOf": [
                                    RECORD,
                                    {"type": "array", "items": RECORD},
                                    {
                                        "type": "object",
                                        "properties": {
                                            "records": {"type": "array", "items": RECORD}
                                        },
                                        "required": ["records"],
                                    },
                                ]
                            }
                        },
                        "application/x-ndjson": {
                            "schema": {
                                "type": "string",
                                "description": "One Record as JSON per line.",
                            }
                        },
                        "text/csv": {
                            "schema": {
                                "type": "string",
                                "description": f"A header row (dotted names for nested fields: {fields}), then one record per row.",
                            }
                        },
                    },
                },
                "responses": responses,
            }
        }
    }


def _mailbox_paths(path: str, ack_path: str) -> dict[str, Any]:
    cursor_headers = {
        "X-Next-Cursor": {"description": "The `next` cursor.", "schema": {"type": "string"}},
        "X-Has-More": {"description": "`true` or `false`.", "schema": {"type": "string"}},
    }
    consumer = {
        "name": "consumer",
        "in": "query",
        "required": False,
        "description": f"Consumer name; each has its own cursor (default `{DEFAULT_CONSUMER}`).",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.\\-]{1,100}$"},
    }
    poll_parameters = [
        {
            "name": "after",
            "in": "query",
            "required": False,
            "description": "A `next` cursor (default: the consumer's acknowledged cursor).",
            "schema": {"type": "string"},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        {
            "name": "wait",
            "in": "query",
            "required": False,
            "description": "Long poll: seconds to wait for a record when none is waiting.",
            "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS, "default": 0},
        },
        consumer,
    ]
    return {
        path: {
            "get": {
                "operationId": "pollRecords",
                "summary": "Records in order of arrival after a cursor",
                "parameters": poll_parameters,
                "responses": {
                    "200": {
                        "description": "A page of records.",
                        "headers": cursor_headers,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/MailboxPage"}
                            },
                            "application/x-ndjson": {
                                "schema": {
                                    "type": "string",
                                    "description": "One record's data as JSON per line.",
                                }
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403, 404, 406, 429),
                },
            }
        },
        ack_path: {
            "post": {
                "operationId": "acknowledge",
                "summary": "Commit the consumer's cursor: the records up to it are taken",
                "parameters": [consumer],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Ack"}}
                    },
                },
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/AckResult"}, "Committed."),
                    **_errors(400, 401, 403, 404, 429),
                },
            }
        },
    }


def _components(connector: Connector) -> dict[str, Any]:
    record = connector.record_json_schema()
    record.pop("$schema", None)  # the document's dialect (jsonSchemaDialect) is 2020-12
    schemas: dict[str, Any] = {
        "Record": record,
        "Error": {
            "type": "object",
            "properties": {"detail": {"type": "string"}},
            "required": ["detail"],
        },
    }
    if connector.kind == Connector.Kind.INGEST_ENDPOINT:
        count = {"type": "integer", "minimum": 0}
        schemas["IngestResult"] = {
            "type": "object",
            "properties": {
                "run": {"type": ["integer", "null"]},
                "received": count,
                "accepted": count,
                "rejected": count,
                "errors": {
                    "type": "array",
                    "description": f"Up to {MAX_ERRORS_IN_RESPONSE}; all are kept with the run.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "index": count,
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        "required": ["index", "field", "message"],
                    },
                },
                "errors_truncated": {"type": "boolean"},
                "error_count": count,
                "detail": {"type": "string"},
            },
            "required": ["run", "received", "accepted", "rejected", "errors"],
        }
    else:
        schemas["MailboxPage"] = {
            "type": "object",
            "properties": {
                "records": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "created_at": {"type": "string", "format": "date-time"},
                            "data": RECORD,
                        },
                        "required": ["id", "created_at", "data"],
                    },
                },
                "next": {"type": "string"},
                "has_more": {"type": "boolean"},
            },
            "required": ["records", "next", "has_more"],
        }
        schemas["Ack"] = {
            "type": "object",
            "properties": {"cursor": {"type": "string"}, "consumer": {"type": "string"}},
            "required": ["cursor"],
        }
        schemas["AckResult"] = {
            "type": "object",
            "properties": {
                "consumer": {"type": "string"},
                "position": {"type": "integer"},
                "cursor": {"type": "string"},
            },
            "required": ["consumer", "position", "cursor"],
        }
    return schemas


def connector_openapi(connector: Connector, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an ingest endpoint or a mailbox, served from `server_url`."""
    if connector.kind == Connector.Kind.INGEST_ENDPOINT:
        security_schemes, security = _ingest_security(connector)
        paths = _ingest_paths(connector, reverse("ingest", kwargs={"slug": connector.slug}))
    elif connector.kind == Connector.Kind.MAILBOX:
        security_schemes = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        security = [{"bearerAuth": []}]
        paths = _mailbox_paths(
            reverse("mailbox", kwargs={"slug": connector.slug}),
            reverse("mailbox-ack", kwargs={"slug": connector.slug}),
        )
    else:
        raise ValueError(f"A {connector.kind_class.label} has no endpoint of ours to describe.")
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": f"{connector.name} ({connector.kind_class.label})",
            # Changes whenever the record schema does: regenerate clients on a new version.
            "version": connector.schema.updated_at.strftime("%Y%m%d%H%M%S"),
            **({"description": connector.description} if connector.description else {}),
        },
        "servers": [{"url": server_url}],
        "security": security,
        "paths": paths,
        "components": {
            "schemas": _components(connector),
            "securitySchemes": security_schemes,
        },
    }


class ConnectorOpenApiView(APIView):
    @extend_schema(
        operation_id="connector_openapi",
        summary="OpenAPI 3.1 document of one connector's endpoints",
        description=(
            "For an ingest endpoint its POST, for a mailbox its poll and acknowledgement, with "
            "the connector's record schema in the bodies: generate a typed client from it."
        ),
        responses={
            200: OpenApiResponse(
                {"type": "object", "additionalProperties": True},
                description="An OpenAPI 3.1 document.",
            ),
            400: OpenApiResponse(description="The connector has no endpoint of ours."),
            404: OpenApiResponse(description="No such connector."),
        },
    )
    def get(self, request, pk: int):
        connector = get_object_or_404(Connector.objects.select_related("schema"), pk=pk)
        try:
            document = connector_openapi(connector, request.build_absolute_uri("/").rstrip("/"))
        except ValueError as exc:
            raise ValidationError({"kind": str(exc)}) from None
        return Response(document)
