"""GET /api/v1/mailbox/{slug}/schema/: the JSON Schema of one record the mailbox hands out."""

from __future__ import annotations

from django.test import Client
from jsonschema import Draft202012Validator

from tests.helpers import make_connector


def get_schema(mailbox, token=None, client=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return (client or Client()).get(f"/api/v1/mailbox/{mailbox.slug}/schema/", **headers)


def test_it_publishes_the_canonical_record_schema(outbox):
    response = get_schema(outbox, outbox.token)

    assert response.status_code == 200
    schema = response.json()
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["order_id"] == {"type": "integer"}
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"order_id": 42, "email": "a@example.com", "paid": True})
    assert not validator.is_valid({"order_id": "42", "email": "a@example.com"})
    assert not validator.is_valid({"order_id": 42, "email": "a@example.com", "paid": None})
    assert not validator.is_valid({"order_id": 42, "email": "a@example.com", "extra": 1})


def test_staff_read_it(outbox, api):
    assert api.get(f"/api/v1/mailbox/{outbox.slug}/schema/").status_code == 200


def test_a_missing_wrong_or_foreign_token_is_401(outbox):
    other = make_connector("mailbox", "Other box")
    statuses = {
        get_schema(outbox).status_code,
        get_schema(outbox, "sc_wrong").status_code,
        get_schema(outbox, other.rotate_token()).status_code,
    }
    assert statuses == {401}


def test_an_ingest_endpoint_slug_is_404(db):
    endpoint = make_connector("ingest_endpoint", "In")
    assert get_schema(endpoint, endpoint.rotate_token()).status_code == 404
