"""A workspace exported, applied to an empty database and exported again is the same file,
and records flow through it the same way."""

import hashlib
import hmac
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from connectors.models import Connector
from mailbox.models import MailboxRecord
from pipelines.config.apply import apply
from pipelines.config.document import dump, parse
from pipelines.config.export import export_workspace
from pipelines.mapping.models import Pipeline

SECRETS = {
    "ORDERS_IN_VERIFICATION_SECRET": "It's a Secret to Everybody",
    "CRM_HEADER_X_API_KEY": "header-secret-5c1e",
    "CRM_AUTH_TOKEN": "bearer-secret-77aa",
    "CRM_SIGNING_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "CRM_SECRET_VARIABLES_TENANT_KEY": "tenant-secret-3d9f",
    "SHOP_API_AUTH_CLIENT_SECRET": "oauth-secret-91b0",
}


def build_workspace(api, receiver_url: str) -> None:
    """All four kinds, every option set to something other than its default."""
    fields = [
        {"name": "order_id", "type": "integer", "required": True, "description": "Our id"},
        {"name": "email", "type": "email", "required": True},
        {"name": "total", "type": "number", "default": 0},
    ]
    created = [
        {
            "name": "Orders in",
            "slug": "orders-in",
            "kind": "ingest_endpoint",
            "description": "Orders from the shop",
            "schema": {"fields": fields},
            "all_or_nothing": True,
            "drop_unknown_fields": True,
            "throttle_rate": "120/min",
        },
        {
            "name": "Clean orders",
            "slug": "clean-orders",
            "kind": "mailbox",
            "enabled": True,
            "schema": {
                "fields": [
                    {"name": "id", "type": "string", "required": True},
                    {"name": "customer.email", "type": "email"},
                ]
            },
            "retention_days": 3,
        },
        {
            "name": "CRM",
            "slug": "crm",
            "kind": "http_destination",
            "schema": {
                "fields": [
                    {"name": "id", "type": "string", "required": True},
                    {"name": "email", "type": "email"},
                ]
            },
            "url": receiver_url + "/contacts/{{ id }}",
            "method": "PUT",
            "headers": [
                {"name": "X-Api-Key", "value": SECRETS["CRM_HEADER_X_API_KEY"], "secret": True},
                {"name": "X-Team", "value": "ops", "secret": False},
            ],
            "auth": {"type": "bearer", "token": SECRETS["CRM_AUTH_TOKEN"]},
            "timeout_seconds": 7,
            "variables": {"region": "eu"},
            "secret_variables": {"tenant_key": SECRETS["CRM_SECRET_VARIABLES_TENANT_KEY"]},
            "batch_size": 1,
            "body_template": '{"id": "{{ record.id }}", "email": "{{ record.email }}"}',
            "max_attempts": 4,
            "initial_backoff_seconds": 3,
            "signing_secret": SECRETS["CRM_SIGNING_SECRET"],
            "rate_limit_per_second": 5,
            "max_concurrency": 2,
            "disable_after_failing_days": 2,
        },
        {
            "name": "Shop API",
            "slug": "shop-api",
            "kind": "http_source",
            "schema": {
                "fields": [
                    {"name": "order_id", "type": "integer", "required": True},
                    {"name": "email", "type": "email", "required": True},
                ]
            },
            "url": receiver_url + "/orders",
            "method": "GET",
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": receiver_url + "/token",
                "client_id": "shop",
                "client_secret": SECRETS["SHOP_API_AUTH_CLIENT_SECRET"],
            },
            "records_path": "data.items",
            "pagination": {"type": "page", "size": 50},
            "schedule": {"every_minutes": 30},
            "max_pages": 20,
            "cursor_field": "order_id",
            "primary_key": "order_id",
        },
    ]
    for body in created:
        response = api.post("/api/v1/connectors/", body, format="json")
        assert response.status_code == 201, response.json()
    ingest = Connector.objects.get(slug="orders-in")
    response = api.patch(
        f"/api/v1/connectors/{ingest.pk}/",
        {
            "verification": {
                "scheme": "github",
                "secret": SECRETS["ORDERS_IN_VERIFICATION_SECRET"],
                "allow_query_token": True,
            }
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    for name, source, destination, mappings in [
        (
            "Orders to mailbox",
            "orders-in",
            "clean-orders",
            [
                {"target": "id", "template": "{{ order_id }}"},
                {"target": "customer.email", "source": "email", "transforms": ["trim", "lower"]},
            ],
        ),
        (
            "Orders to CRM",
            "orders-in",
            "crm",
            [{"target": "id", "source": "order_id"}, {"target": "email", "source": "email"}],
        ),
        (
            "Shop to mailbox",
            "shop-api",
            "clean-orders",
            [
                {"target": "id", "source": "order_id"},
                {"target": "customer.email", "value": "x@y.z"},
            ],
        ),
    ]:
        response = api.post(
            "/api/v1/pipelines/",
            {
                "name": name,
                "source": Connector.objects.get(slug=source).pk,
                "destination": Connector.objects.get(slug=destination).pk,
                "mappings": mappings,
                "enabled": name != "Shop to mailbox",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()


@pytest.fixture
def secrets_in_env(monkeypatch, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def test_export_apply_export_is_identical_and_records_flow_the_same(
    api, httpserver, secrets_in_env, tmp_path
):
    build_workspace(api, httpserver.url_for("").rstrip("/"))
    first = dump(export_workspace())
    for secret in SECRETS.values():
        assert secret not in first

    Pipeline.objects.all().delete()
    Connector.objects.all().delete()
    plan = apply(parse(first))
    assert plan.counts()["create"] == 7
    assert set(plan.tokens) == {"orders-in", "clean-orders"}
    assert Connector.objects.get(slug="orders-in").check_token(plan.tokens["orders-in"])

    assert dump(export_workspace()) == first
    crm = Connector.objects.get(slug="crm")
    assert crm.auth["token"] == SECRETS["CRM_AUTH_TOKEN"]
    assert crm.header_dict()["X-Api-Key"] == SECRETS["CRM_HEADER_X_API_KEY"]
    assert crm.secret_variables == {"tenant_key": SECRETS["CRM_SECRET_VARIABLES_TENANT_KEY"]}

    path = tmp_path / "workspace.yaml"
    path.write_text(first)
    call_command("config", "apply", str(path))  # a second apply changes nothing...
    assert apply(parse(first)).changed is False  # ...and says so
    assert dump(export_workspace()) == first
    assert Connector.objects.get(slug="orders-in").check_token(plan.tokens["orders-in"])

    # Records flow: the new ingest token takes a record into the mailbox, mapped as before.
    # The endpoint verifies GitHub signatures: sign the body as GitHub would.
    body = json.dumps([{"order_id": 7, "email": " A@B.CO ", "total": "2.50"}]).encode()
    signature = hmac.new(SECRETS["ORDERS_IN_VERIFICATION_SECRET"].encode(), body, hashlib.sha256)
    response = APIClient().generic(
        "POST",
        "/api/v1/ingest/orders-in/",
        body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=" + signature.hexdigest(),
        HTTP_AUTHORIZATION=f"Bearer {plan.tokens['orders-in']}",
    )
    assert response.status_code == 202, response.content
    row = MailboxRecord.objects.get()
    assert json.loads(row.data) == {"id": "7", "customer": {"email": "a@b.co"}}
