"""Builders for HTTP source tests: a source pointed at a pytest-httpserver, a mailbox behind it."""

from __future__ import annotations

import orjson
from werkzeug import Response

from connectors.models import Connector
from mailbox.models import MailboxRecord
from tests.helpers import make_connector, make_pipeline

ITEM_FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "name", "type": "string"},
    {"name": "updated_at", "type": "datetime"},
]


def items(count: int, start: int = 1) -> list[dict]:
    return [{"id": i, "name": f"item {i}"} for i in range(start, start + count)]


def make_source(url: str, fields: list[dict] | None = None, **config) -> Connector:
    config.setdefault("method", "GET")
    return make_connector(
        "http_source", "Items API", ITEM_FIELDS if fields is None else fields, url=url, **config
    )


def source_into_mailbox(url: str, **config) -> tuple[Connector, Connector]:
    """An HTTP source and a mailbox it feeds, through a pipeline that passes `id` and `name` on."""
    source = make_source(url, **config)
    box = make_connector(
        "mailbox",
        "Items box",
        [{"name": "id", "type": "integer", "required": True}, {"name": "name", "type": "string"}],
    )
    make_pipeline(source, box)
    return source, box


def mailbox_ids(box: Connector) -> list[int]:
    return [
        orjson.loads(r.data)["id"]
        for r in MailboxRecord.objects.filter(mailbox=box).order_by("seq")
    ]


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def queries(httpserver) -> list[dict]:
    """The query parameters of each request the server received, in order."""
    return [dict(request.args) for request, _ in httpserver.log]
