"""GET /api/v1/mailbox/{slug}/schema/: the JSON Schema of one record the mailbox hands out."""

from __future__ import annotations

import json

from django.test import Client
from jsonschema import Draft202012Validator

from tests.helpers import make_connector, make_pipeline


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


def test_records_that_arrived_through_a_pipeline_fit_the_published_schema(outbox):
    orders = make_connector(
        "ingest_endpoint",
        "Orders",
        [
            {"name": "order_id", "type": "string", "required": True},
            {"name": "email", "type": "string", "required": True},
            {"name": "customer", "type": "json"},
            {"name": "paid", "type": "string"},
        ],
    )
    make_pipeline(
        orders,
        outbox,
        [{"target": "customer.name", "source": "customer.name", "transforms": ["trim"]}],
    )
    sent = [
        {"order_id": " 42 ", "email": " ann@example.com ", "customer": {"name": " Ann "}},
        {"order_id": "7", "email": "bo@example.com", "paid": "yes", "extra": 1},
        {"order_id": "8", "email": "cy@example.com", "paid": ""},
    ]
    response = Client().post(
        f"/api/v1/ingest/{orders.slug}/",
        json.dumps(sent),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {orders.rotate_token()}",
    )
    assert response.json()["accepted"] == 3

    page = (
        Client()
        .get(f"/api/v1/mailbox/{outbox.slug}/", HTTP_AUTHORIZATION=f"Bearer {outbox.token}")
        .json()
    )
    published = Draft202012Validator(get_schema(outbox, outbox.token).json())

    assert [r["data"]["order_id"] for r in page["records"]] == [42, 7, 8]
    for record in page["records"]:
        assert list(published.iter_errors(record["data"])) == []
