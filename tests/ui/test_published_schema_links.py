"""The endpoint page links the published JSON Schema and OpenAPI document, and both open."""

from __future__ import annotations

import re

from tests.helpers import make_connector


def test_an_ingest_endpoint_page_links_its_schema_and_openapi_document(staff, orders):
    page = staff.get(f"/connectors/{orders.pk}/").content.decode()

    found = {name: url for url, name in re.findall(r'<a href="([^"]+)" id="([a-z-]+-link)"', page)}
    assert found == {
        "json-schema-link": f"/api/v1/ingest/{orders.slug}/schema/",
        "openapi-link": f"/api/v1/connectors/{orders.pk}/openapi/",
    }
    assert "generate a typed client" in page
    # The staff member's session opens both.
    assert staff.get(found["json-schema-link"]).json()["required"] == ["order_id", "email"]
    assert staff.get(found["openapi-link"]).json()["openapi"] == "3.1.0"


def test_a_mailbox_page_links_its_schema(staff, outbox):
    page = staff.get(f"/connectors/{outbox.pk}/").content.decode()

    assert f'href="/api/v1/mailbox/{outbox.slug}/schema/"' in page
    assert f'href="/api/v1/connectors/{outbox.pk}/openapi/"' in page


def test_a_destination_page_has_no_such_links(staff, db):
    destination = make_connector(
        "http_destination", "Out", url="https://api.example.com/hook", method="POST"
    )
    page = staff.get(f"/connectors/{destination.pk}/").content.decode()
    assert "json-schema-link" not in page
