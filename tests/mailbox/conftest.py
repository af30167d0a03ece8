from __future__ import annotations

import orjson
import pytest
from django.db import transaction
from django.test import Client

from mailbox.models import append_records
from tests.helpers import make_connector

ORDER_FIELDS = [
    {"name": "order_id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "customer.name", "type": "string"},
    {"name": "paid", "type": "boolean"},
]


@pytest.fixture
def outbox(db):
    """A mailbox of clean orders, and its bearer token."""
    mailbox = make_connector("mailbox", "Outbox", ORDER_FIELDS)
    mailbox.token = mailbox.rotate_token()
    return mailbox


def put(mailbox, *records: dict) -> int:
    """Deliver records to a mailbox the way a pipeline does: encoded once, inside a transaction."""
    with transaction.atomic():
        return append_records(mailbox, [orjson.dumps(r).decode() for r in records], run_id=None)


@pytest.fixture
def poll():
    """GET the mailbox as the customer's system would (a client per call, so threads may use it)."""

    def poll(mailbox, token=None, accept="application/json", **params):
        params = {k: v for k, v in params.items() if v is not None}
        return Client().get(
            f"/api/v1/mailbox/{mailbox.slug}/",
            params,
            HTTP_AUTHORIZATION=f"Bearer {token or mailbox.token}",
            HTTP_ACCEPT=accept,
        )

    return poll


@pytest.fixture
def ack():
    def ack(mailbox, body, token=None, **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return Client().post(
            f"/api/v1/mailbox/{mailbox.slug}/ack/" + (f"?{query}" if query else ""),
            orjson.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token or mailbox.token}",
        )

    return ack
