from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import make_connector, make_pipeline

ORDER_FIELDS = [
    {"name": "order_id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "amount", "type": "number"},
]
CLEAN_FIELDS = [
    {"name": "id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "total", "type": "number"},
]


@pytest.fixture(autouse=True)
def _no_name_lookups(settings):
    # Example hostnames (api.example.com) are never resolved: the SSRF guard looks names up
    # only when private destinations are refused, and tests send no packet off this machine.
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture
def not_staff(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def orders(db):
    return make_connector("ingest_endpoint", "Orders", ORDER_FIELDS)


@pytest.fixture
def outbox(db):
    return make_connector("mailbox", "Outbox", CLEAN_FIELDS)


@pytest.fixture
def orders_to_outbox(orders, outbox):
    return make_pipeline(
        orders,
        outbox,
        [{"target": "id", "source": "order_id"}, {"target": "total", "source": "amount"}],
        name="Orders to outbox",
    )
