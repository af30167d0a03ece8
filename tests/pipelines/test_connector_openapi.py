"""GET /api/v1/connectors/{id}/openapi/: an OpenAPI 3.1 document of one connector's endpoints."""

from __future__ import annotations

from django.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.helpers import make_connector

FIELDS = [
    {"name": "order_id", "type": "integer", "required": True},
    {"name": "customer.email", "type": "email", "required": True},
    {"name": "paid_at", "type": "datetime"},
]


def openapi(api, connector):
    return api.get(f"/api/v1/connectors/{connector.pk}/openapi/")


def test_an_ingest_endpoints_document_validates_and_carries_its_record_schema(api):
    endpoint = make_connector("ingest_endpoint", "Orders", FIELDS)

    response = openapi(api, endpoint)

    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    post = document["paths"][f"/api/v1/ingest/{endpoint.slug}/"]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "application/x-ndjson",
        "text/csv",
    }
    assert {"202", "400", "401", "413", "429"} <= set(post["responses"])
    assert "Retry-After" in post["responses"]["429"]["headers"]
    record = document["components"]["schemas"]["Record"]
    assert record["required"] == ["order_id", "customer"]
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }
    body = post["requestBody"]["content"]["application/json"]["schema"]
    check = Draft202012Validator({**body, "components": document["components"]})
    assert check.is_valid([{"order_id": "7", "customer": {"email": "a@example.com"}}])
    assert not check.is_valid([{"order_id": "seven", "customer": {"email": "a@example.com"}}])


def test_a_signed_endpoint_documents_the_signature_header(api):
    endpoint = make_connector(
        "ingest_endpoint",
        "Hooks",
        FIELDS,
        verification={"scheme": "github", "secret": "s3cret", "allow_query_token": False},
    )

    document = openapi(api, endpoint).json()

    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert [s["name"] for s in schemes.values()] == ["X-Hub-Signature-256"]
    assert "s3cret" not in str(document)


def test_a_mailboxs_document_has_the_poll_and_the_ack(api):
    mailbox = make_connector("mailbox", "Outbox", FIELDS)

    document = openapi(api, mailbox).json()

    validate(document)
    paths = document["paths"]
    poll = paths[f"/api/v1/mailbox/{mailbox.slug}/"]["get"]
    assert {p["name"] for p in poll["parameters"]} == {"after", "limit", "wait", "consumer"}
    assert "post" in paths[f"/api/v1/mailbox/{mailbox.slug}/ack/"]
    page = document["components"]["schemas"]["MailboxPage"]
    assert page["properties"]["records"]["items"]["properties"]["data"] == {
        "$ref": "#/components/schemas/Record"
    }
    assert document["components"]["schemas"]["Record"]["additionalProperties"] is False


def test_a_connector_without_an_endpoint_of_ours_is_400(api):
    destination = make_connector(
        "http_destination", "Out", url="https://example.com/hook", method="POST"
    )
    response = openapi(api, destination)
    assert response.status_code == 400
    assert "kind" in response.json()


def test_it_is_for_staff_only(db, bob):
    endpoint = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = endpoint.rotate_token()
    url = f"/api/v1/connectors/{endpoint.pk}/openapi/"
    browser = Client()
    browser.force_login(bob)

    assert Client().get(url).status_code in (401, 403)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code in (401, 403)
    assert browser.get(url).status_code == 403


def test_an_unknown_connector_is_404(api):
    assert api.get("/api/v1/connectors/999999/openapi/").status_code == 404
