from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import make_connector

ORDER_FIELDS = [
    {"name": "order_id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "amount", "type": "number"},
    {"name": "paid", "type": "boolean"},
    {"name": "customer.name", "type": "string"},
]


@pytest.fixture
def orders(db):
    """An ingest endpoint for orders, and its bearer token."""
    connector = make_connector("ingest_endpoint", "Orders", ORDER_FIELDS)
    connector.token = connector.rotate_token()
    return connector


@pytest.fixture
def post():
    """POST a body to an ingest endpoint as the customer's system would (thread-safe: a client per call)."""

    def post(connector, body, content_type="application/json", token=None, **headers):
        client = Client()
        if not isinstance(body, (bytes, str)):
            import json

            body = json.dumps(body)
        return client.generic(
            "POST",
            f"/api/v1/ingest/{connector.slug}/",
            body,
            content_type=content_type,
            HTTP_AUTHORIZATION=f"Bearer {token or connector.token}",
            **headers,
        )

    return post
