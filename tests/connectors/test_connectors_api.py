from __future__ import annotations

import pytest

from connectors.models import Connector

CUSTOMER_IO = {
    "name": "Customer.io transactional",
    "kind": "http_destination",
    "schema": {
        "fields": [
            {"name": "id", "type": "string", "required": True},
            {"name": "campaign_id", "type": "string", "required": True},
            {"name": "action_id", "type": "string", "required": True},
            {"name": "identifiers.email", "type": "email", "required": True},
            {"name": "message_data.amount", "type": "number"},
        ]
    },
    "url": "https://api.customer.io/v1/campaigns/{{ campaign_id }}/actions/{{ action_id }}/send",
    "method": "POST",
    "headers": [{"name": "Authorization", "value": "Bearer 7f3c-secret", "secret": True}],
    "batch_size": 1,
}


@pytest.fixture(autouse=True)
def _public_dns_is_not_needed(settings):
    # Saving checks the destination's address; api.customer.io may not resolve offline.
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_creates_the_contract_example(api):
    response = api.post("/api/v1/connectors/", CUSTOMER_IO, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "customerio-transactional"
    assert body["headers"] == [{"name": "Authorization", "value": "********", "secret": True}]
    assert [f["name"] for f in body["schema"]["fields"]] == [
        f["name"] for f in CUSTOMER_IO["schema"]["fields"]
    ]
    assert (
        body["max_attempts"] == 8
        and body["initial_backoff_seconds"] == 10
        and body["timeout_seconds"] == 30
    )
    assert "token" not in body and "endpoint_url" not in body
    connector = Connector.objects.get(pk=body["id"])
    assert connector.header_dict() == {"Authorization": "Bearer 7f3c-secret"}


def test_it_never_shows_a_secret_header_back(api):
    created = api.post("/api/v1/connectors/", CUSTOMER_IO, format="json").json()
    for response in (
        api.get(f"/api/v1/connectors/{created['id']}/"),
        api.get("/api/v1/connectors/"),
    ):
        assert "7f3c-secret" not in response.content.decode()


def test_it_keeps_a_secret_when_it_comes_back_masked(api):
    created = api.post("/api/v1/connectors/", CUSTOMER_IO, format="json").json()
    headers = [*created["headers"], {"name": "X-Trace", "value": "on"}]
    response = api.patch(
        f"/api/v1/connectors/{created['id']}/", {"headers": headers}, format="json"
    )
    assert response.status_code == 200, response.json()
    connector = Connector.objects.get(pk=created["id"])
    assert connector.header_dict() == {"Authorization": "Bearer 7f3c-secret", "X-Trace": "on"}


def test_it_returns_an_ingest_token_once(api):
    response = api.post(
        "/api/v1/connectors/", {"name": "Orders in", "kind": "ingest_endpoint"}, format="json"
    )
    body = response.json()
    assert response.status_code == 201
    assert body["token"].startswith("sc_")
    assert body["endpoint_url"].endswith("/api/v1/ingest/orders-in/")
    connector = Connector.objects.get(pk=body["id"])
    assert connector.check_token(body["token"])
    assert body["token"] not in connector.token_hash
    again = api.get(f"/api/v1/connectors/{body['id']}/").json()
    assert "token" not in again and again["token_hint"] == body["token"][-4:]


def test_it_rotates_a_token(api):
    created = api.post(
        "/api/v1/connectors/", {"name": "Out", "kind": "mailbox"}, format="json"
    ).json()
    response = api.post(f"/api/v1/connectors/{created['id']}/rotate-token/")
    assert response.status_code == 200
    connector = Connector.objects.get(pk=created["id"])
    assert connector.check_token(response.json()["token"])
    assert not connector.check_token(created["token"])


def test_it_refuses_to_rotate_a_token_of_a_kind_without_one(api):
    created = api.post("/api/v1/connectors/", CUSTOMER_IO, format="json").json()
    assert api.post(f"/api/v1/connectors/{created['id']}/rotate-token/").status_code == 400


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "teleporter"}, "kind"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://api.example.com/{{ nope }}"}, "url"),
        ({"url": "https://api.example.com/{{ id "}, "url"),
        ({"method": "DELETE"}, "method"),
        ({"batch_size": 0}, "batch_size"),
        ({"headers": [{"name": "Bad Header", "value": "x"}]}, "headers"),
        ({"schema": {"fields": [{"name": "a", "type": "colour"}]}}, "schema"),
        ({"schema": {"fields": [{"name": "a"}, {"name": "a"}]}}, "schema"),
        ({"schema": {"fields": [{"name": "n", "type": "integer", "default": "abc"}]}}, "schema"),
        ({"body_template": "{% if %}"}, "body_template"),
    ],
)
def test_it_names_the_field_of_a_bad_configuration(api, change, field):
    response = api.post("/api/v1/connectors/", {**CUSTOMER_IO, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_it_checks_http_source_pagination_and_schedule(api):
    base = {"name": "Src", "kind": "http_source", "url": "https://api.example.com/items"}
    bad = api.post("/api/v1/connectors/", {**base, "pagination": {"type": "pages"}}, format="json")
    assert bad.status_code == 400 and "pagination" in bad.json()
    bad = api.post(
        "/api/v1/connectors/", {**base, "schedule": {"cron": "every day"}}, format="json"
    )
    assert bad.status_code == 400 and "schedule" in bad.json()
    good = api.post(
        "/api/v1/connectors/",
        {**base, "pagination": {"type": "page"}, "schedule": {"every_minutes": 15}},
        format="json",
    )
    assert good.status_code == 201, good.json()
    assert good.json()["pagination"] == {
        "type": "page",
        "param": "page",
        "start": 1,
        "size_param": "per_page",
        "size": 100,
    }
    assert good.json()["method"] == "GET"


def test_it_refuses_to_change_the_kind(api):
    created = api.post(
        "/api/v1/connectors/", {"name": "In", "kind": "ingest_endpoint"}, format="json"
    ).json()
    response = api.patch(f"/api/v1/connectors/{created['id']}/", {"kind": "mailbox"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()


def test_it_filters_by_kind_and_paginates(api):
    api.post("/api/v1/connectors/", {"name": "In", "kind": "ingest_endpoint"}, format="json")
    api.post("/api/v1/connectors/", {"name": "Out", "kind": "mailbox"}, format="json")
    body = api.get("/api/v1/connectors/?kind=mailbox").json()
    assert body["count"] == 1 and body["results"][0]["name"] == "Out"


def test_it_deletes(api):
    created = api.post(
        "/api/v1/connectors/", {"name": "In", "kind": "ingest_endpoint"}, format="json"
    ).json()
    assert api.delete(f"/api/v1/connectors/{created['id']}/").status_code == 204
    assert not Connector.objects.filter(pk=created["id"]).exists()


def test_it_requires_authentication(anonymous, db):
    assert anonymous.get("/api/v1/connectors/").status_code == 401


def test_it_refuses_a_wrong_token(anonymous, db):
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert anonymous.get("/api/v1/connectors/").status_code == 401


def test_it_refuses_a_user_without_staff_rights(bob):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(bob)
    assert client.get("/api/v1/connectors/").status_code == 403


def test_it_refuses_a_wrong_method(api):
    assert api.put("/api/v1/connectors/").status_code == 405


def test_session_users_need_csrf(alice):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password="alice-password")
    response = client.post(
        "/api/v1/connectors/", {"name": "In", "kind": "ingest_endpoint"}, format="json"
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_re_enabling_a_destination_clears_why_it_was_disabled(api):
    created = api.post("/api/v1/connectors/", CUSTOMER_IO, format="json").json()
    Connector.objects.filter(pk=created["id"]).update(enabled=False, disabled_reason="410 Gone")
    response = api.patch(f"/api/v1/connectors/{created['id']}/", {"enabled": True}, format="json")
    assert response.json()["enabled"] is True and response.json()["disabled_reason"] == ""
