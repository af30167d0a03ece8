"""Creating and editing connectors in the browser: the API's validation, shown next to the fields."""

from __future__ import annotations

import json

from connectors.models import Connector
from tests.helpers import make_connector

CUSTOMERIO_SCHEMA = {
    "fields": [
        {"name": "id", "type": "string", "required": True},
        {"name": "campaign_id", "type": "string", "required": True},
        {"name": "identifiers.email", "type": "email", "required": True},
    ]
}


def destination_form(**overrides) -> dict:
    form = {
        "name": "Customer.io transactional",
        "enabled": "on",
        "schema_json": json.dumps(CUSTOMERIO_SCHEMA),
        "url": "https://api.customer.io/v1/campaigns/{{ campaign_id }}/send",
        "method": "POST",
        "headers_json": json.dumps(
            [{"name": "Authorization", "value": "Bearer 7f3c-secret", "secret": True}]
        ),
        "auth_type": "none",
        "timeout_seconds": "30",
        "variables_json": "{}",
        "batch_size": "1",
        "max_attempts": "8",
        "initial_backoff_seconds": "10",
        "disable_after_failing_days": "5",
    }
    form.update(overrides)
    return form


def test_it_creates_an_http_destination_from_the_form(staff):
    response = staff.post("/connectors/new/http_destination/", destination_form())
    connector = Connector.objects.get(name="Customer.io transactional")
    assert response.status_code == 302
    assert response["Location"] == f"/connectors/{connector.pk}/"
    assert [f.name for f in connector.schema.fields.all()] == [
        "id",
        "campaign_id",
        "identifiers.email",
    ]
    assert connector.header_dict() == {"Authorization": "Bearer 7f3c-secret"}


def test_it_shows_an_unknown_url_placeholder_next_to_the_url(staff):
    response = staff.post(
        "/connectors/new/http_destination/",
        destination_form(url="https://api.customer.io/v1/{{ nope }}/send"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["url"] == [
        "The URL uses nope, which the schema does not define."
    ]
    assert b'id="id_url_error"' in response.content
    assert not Connector.objects.exists()


def test_it_shows_a_bad_schema_field_on_its_row(staff):
    schema = {"fields": [{"name": "ok"}, {"name": "bad name."}]}
    response = staff.post(
        "/connectors/new/ingest_endpoint/", {"name": "Orders", "schema_json": json.dumps(schema)}
    )
    form = response.context["form"]
    assert response.status_code == 200
    assert form.row_errors["schema"] == {1: [form.row_errors["schema"][1][0]]}
    assert form.row_errors["schema"][1][0].startswith("name: Use letters")
    assert form.errors["schema_json"][0].startswith("Field 2, name:")


def test_it_says_where_the_schema_json_is_broken(staff):
    response = staff.post(
        "/connectors/new/ingest_endpoint/", {"name": "Orders", "schema_json": '{"fields": ['}
    )
    assert response.context["form"].errors["schema_json"] == [
        "The schema is not valid JSON (line 1, column 13)."
    ]


def test_it_requires_a_name(staff):
    response = staff.post(
        "/connectors/new/mailbox/", {"name": "", "schema_json": "{}", "retention_days": "7"}
    )
    assert response.context["form"].errors["name"] == ["This field is required."]


def test_it_checks_auth_settings(staff):
    response = staff.post(
        "/connectors/new/http_destination/", destination_form(auth_type="basic", headers_json="[]")
    )
    assert response.context["form"].errors["auth_type"] == ["auth basic: 'username' is required"]


def test_it_creates_an_http_source_with_pagination_and_a_schedule(staff):
    response = staff.post(
        "/connectors/new/http_source/",
        {
            "name": "Shop orders",
            "schema_json": '{"fields": []}',
            "url": "https://shop.example.com/orders",
            "method": "GET",
            "headers_json": "[]",
            "auth_type": "bearer",
            "auth_token": "shop-token",
            "timeout_seconds": "30",
            "records_path": "data.items",
            "pagination_type": "page",
            "pagination_size": "50",
            "schedule_every_minutes": "15",
            "max_pages": "100",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    source = Connector.objects.get(name="Shop orders")
    assert source.pagination == {
        "type": "page",
        "param": "page",
        "start": 1,
        "size_param": "per_page",
        "size": 50,
    }
    assert source.schedule == {"every_minutes": 15}
    assert source.auth == {"type": "bearer", "token": "shop-token"}


def test_it_shows_a_bad_cron_expression_next_to_the_schedule(staff):
    response = staff.post(
        "/connectors/new/http_source/",
        {
            "name": "Shop",
            "schema_json": "{}",
            "url": "https://shop.example.com/orders",
            "method": "GET",
            "auth_type": "none",
            "timeout_seconds": "30",
            "pagination_type": "none",
            "schedule_cron": "every day",
            "max_pages": "100",
        },
    )
    assert (
        "not a valid cron expression"
        in response.context["form"].errors["schedule_every_minutes"][0]
    )


def test_it_keeps_stored_secrets_when_the_form_sends_them_back_masked(staff, db):
    connector = make_connector(
        "http_destination",
        "API",
        [{"name": "id"}],
        url="https://api.example.com/send",
        method="POST",
        auth={"type": "bearer", "token": "auth-secret-1"},
        signing_secret="whsec_c2lnbmluZy1zZWNyZXQtMTIzNDU2Nzg5MA==",
    )
    connector.replace_headers([{"name": "X-Key", "value": "header-secret-1", "secret": True}])
    edit = staff.get(f"/connectors/{connector.pk}/edit/")
    posted = destination_form(
        name="API renamed",
        schema_json=edit.context["form"].initial["schema_json"],
        url="https://api.example.com/send",
        headers_json=edit.context["form"].initial["headers_json"],
        auth_type="bearer",
        auth_token="",
        signing_secret="",
    )
    response = staff.post(f"/connectors/{connector.pk}/edit/", posted)
    assert response.status_code == 302, response.context["form"].errors
    connector.refresh_from_db()
    assert connector.name == "API renamed"
    assert connector.header_dict() == {"X-Key": "header-secret-1"}
    assert connector.auth == {"type": "bearer", "token": "auth-secret-1"}
    assert connector.signing_secret == "whsec_c2lnbmluZy1zZWNyZXQtMTIzNDU2Nzg5MA=="


def test_it_replaces_a_secret_header_with_a_new_value(staff, db):
    connector = make_connector(
        "http_destination", "API", url="https://api.example.com/send", method="POST"
    )
    connector.replace_headers([{"name": "X-Key", "value": "old", "secret": True}])
    posted = destination_form(
        schema_json='{"fields": []}',
        url="https://api.example.com/send",
        headers_json=json.dumps([{"name": "X-Key", "value": "new", "secret": True}]),
    )
    staff.post(f"/connectors/{connector.pk}/edit/", posted)
    assert connector.header_dict() == {"X-Key": "new"}


def test_it_never_renders_a_secret_into_html(staff, db):
    connector = make_connector(
        "http_destination",
        "API",
        [{"name": "id"}],
        url="https://api.example.com/send",
        method="POST",
        auth={"type": "basic", "username": "ada", "password": "basic-secret-1"},
        signing_secret="whsec_c2lnbmluZy1zZWNyZXQtMTIzNDU2Nzg5MA==",
    )
    connector.replace_headers(
        [{"name": "Authorization", "value": "Bearer header-secret-1", "secret": True}]
    )
    for url in (
        f"/connectors/{connector.pk}/",
        f"/connectors/{connector.pk}/edit/",
        "/connectors/",
    ):
        html = staff.get(url).content.decode()
        for secret in ("header-secret-1", "basic-secret-1", "c2lnbmluZy1zZWNyZXQ"):
            assert secret not in html, (url, secret)
    assert "ada" in staff.get(f"/connectors/{connector.pk}/edit/").content.decode()


def test_it_deletes_a_connector_and_its_schema(staff, orders):
    response = staff.post(f"/connectors/{orders.pk}/delete/")
    assert response.status_code == 302
    assert not Connector.objects.exists()


def test_a_get_only_asks_before_deleting(staff, orders):
    assert staff.get(f"/connectors/{orders.pk}/delete/").status_code == 200
    assert Connector.objects.filter(pk=orders.pk).exists()
