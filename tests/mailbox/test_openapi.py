from __future__ import annotations

import pytest


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_documents_the_poll(db, schema):
    poll = schema["paths"]["/api/v1/mailbox/{slug}/"]["get"]

    assert {"after", "limit", "wait", "consumer"} <= {p["name"] for p in poll["parameters"]}
    assert set(poll["responses"]["200"]["content"]) == {
        "application/json",
        "application/x-ndjson",
        "text/csv",
    }
    page = schema["components"]["schemas"]["MailboxPage"]["properties"]
    assert set(page) == {"records", "next", "has_more"}


def test_the_schema_documents_the_ack(db, schema):
    ack = schema["paths"]["/api/v1/mailbox/{slug}/ack/"]["post"]

    body = ack["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "cursor" in schema["components"]["schemas"][body]["properties"]
    assert set(ack["responses"]) >= {"200", "400", "401", "404"}
