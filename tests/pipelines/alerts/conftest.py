from __future__ import annotations

import pytest

from pipelines.alerts.models import AlertChannel
from tests.helpers import make_connector, make_pipeline


@pytest.fixture
def mailbox_channel(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return AlertChannel.objects.create(
        name="On call", kind=AlertChannel.Kind.EMAIL, addresses=["oncall@example.com"]
    )


@pytest.fixture
def source(db):
    return make_connector("ingest_endpoint", "Orders")


@pytest.fixture
def destination(db):
    return make_connector(
        "http_destination", "Shop API", url="https://api.example.com/orders", method="POST"
    )


@pytest.fixture
def pipeline(source, destination):
    return make_pipeline(source, destination, name="Orders to shop")
