from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.helpers import make_connector, make_pipeline


@pytest.fixture
def admin_client(client, db):
    User.objects.create_superuser("root", "root@example.com", "root-password")
    client.login(username="root", password="root-password")
    return client


def test_every_model_page_loads(admin_client, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    source = make_connector("ingest_endpoint", "In", [{"name": "a"}])
    dest = make_connector("http_destination", "Out", [{"name": "a"}], url="https://x.example/")
    dest.replace_headers(
        [{"name": "Authorization", "value": "Bearer admin-needle", "secret": True}]
    )
    make_pipeline(source, dest, [{"target": "a", "source": "a"}])
    for model in (
        "connectors/connector",
        "connectors/schema",
        "pipelines/pipeline",
        "pipelines/run",
        "pipelines/delivery",
        "pipelines/recorderror",
        "mailbox/mailboxrecord",
    ):
        assert admin_client.get(f"/admin/{model}/").status_code == 200, model
    page = admin_client.get(f"/admin/connectors/connector/{dest.pk}/change/")
    assert page.status_code == 200
    assert "admin-needle" not in page.content.decode()
    assert (
        admin_client.get(
            "/admin/connectors/connector/?q=Out&kind__exact=http_destination"
        ).status_code
        == 200
    )
