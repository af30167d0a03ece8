"""GET /api/v1/ingest/{slug}/schema/: the JSON Schema of one record the endpoint accepts."""

from __future__ import annotations

from django.test import Client
from jsonschema import Draft202012Validator

from tests.helpers import make_connector


def get_schema(connector, token=None, client=None, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return (client or Client()).get(f"/api/v1/ingest/{connector.slug}/schema/", **headers)


def test_it_publishes_the_record_schema_to_the_endpoints_token(orders):
    response = get_schema(orders, orders.token)

    assert response.status_code == 200
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["order_id", "email"]
    assert list(schema["properties"]["customer"]["properties"]) == ["name"]
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"order_id": "42", "email": " a@example.com ", "paid": "yes"})
    assert not validator.is_valid({"order_id": "4.5", "email": "a@example.com"})
    assert not validator.is_valid({"email": "a@example.com"})


def test_unknown_fields_are_accepted_whether_kept_or_dropped(orders):
    kept = get_schema(orders, orders.token).json()
    orders.drop_unknown_fields = True
    orders.save()
    dropped = get_schema(orders, orders.token).json()

    assert kept["additionalProperties"] is True
    assert "dropped" in dropped["additionalProperties"]["description"]
    assert "dropped" in dropped["description"]


def test_staff_read_it_with_an_api_token_or_the_session(orders, api, alice):
    assert api.get(f"/api/v1/ingest/{orders.slug}/schema/").status_code == 200
    browser = Client()
    browser.force_login(alice)
    assert get_schema(orders, client=browser).status_code == 200


def test_a_missing_or_wrong_token_is_401(orders):
    missing = get_schema(orders)
    wrong = get_schema(orders, "sc_wrong")

    assert missing.status_code == wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_connectors_token_gets_the_same_401(orders):
    other = make_connector("ingest_endpoint", "Other")
    foreign = get_schema(orders, other.rotate_token())

    assert foreign.status_code == 401
    assert foreign.json() == get_schema(orders, "sc_wrong").json()


def test_a_signed_in_user_who_is_not_staff_is_refused(orders, bob):
    browser = Client()
    browser.force_login(bob)
    assert get_schema(orders, client=browser).status_code == 403


def test_an_unknown_slug_or_a_mailbox_slug_is_404(orders, api):
    mailbox = make_connector("mailbox", "Box")
    token = mailbox.rotate_token()

    assert api.get("/api/v1/ingest/nope/schema/").status_code == 404
    assert get_schema(mailbox, token).status_code == 404


def test_only_get_is_allowed(orders):
    response = Client().post(
        f"/api/v1/ingest/{orders.slug}/schema/", HTTP_AUTHORIZATION=f"Bearer {orders.token}"
    )
    assert response.status_code == 405
