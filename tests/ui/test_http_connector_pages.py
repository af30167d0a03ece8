"""HTTP destination "Send test request" and HTTP source "Test read", against real local servers."""

from __future__ import annotations

import json

from werkzeug import Request, Response

from connectors.models import Connector
from tests.helpers import make_connector


def test_it_sends_a_test_request_and_shows_it_masked(staff, httpserver):
    httpserver.expect_request("/send/42", method="POST").respond_with_json({"ok": True}, status=201)
    destination = make_connector(
        "http_destination",
        "API",
        [{"name": "id", "type": "integer", "required": True}],
        url=httpserver.url_for("/send/{{ id }}"),
        method="POST",
    )
    destination.replace_headers([{"name": "X-Key", "value": "header-secret-1", "secret": True}])
    response = staff.post(f"/connectors/{destination.pk}/test-request/", {"record": '{"id": 42}'})
    result = response.context["test_result"]
    assert result["ok"] is True
    assert result["response"]["status"] == 201
    assert result["request"]["headers"]["X-Key"] == "********"
    assert json.loads(result["request"]["body"]) == {"id": 42}
    html = response.content.decode()
    assert "header-secret-1" not in html
    assert "Response: 201 in" in html and "&quot;ok&quot;: true" in html
    assert httpserver.log[0][0].headers["X-Key"] == "header-secret-1"


def test_it_says_when_the_test_record_does_not_fit_the_schema(staff, httpserver):
    destination = make_connector(
        "http_destination",
        "API",
        [{"name": "id", "type": "integer", "required": True}],
        url=httpserver.url_for("/send"),
        method="POST",
    )
    response = staff.post(f"/connectors/{destination.pk}/test-request/", {"record": '{"id": "x"}'})
    assert response.context["test_result"]["errors"][0]["field"] == "id"
    assert httpserver.log == []


def test_it_test_reads_a_source_and_offers_the_inferred_schema(staff, httpserver):
    def orders(request: Request) -> Response:
        return Response(
            json.dumps({"data": [{"id": 1, "email": "ada@example.com"}]}),
            content_type="application/json",
        )

    httpserver.expect_request("/orders").respond_with_handler(orders)
    source = make_connector(
        "http_source", "Shop", url=httpserver.url_for("/orders"), method="GET", records_path="data"
    )
    response = staff.post(f"/connectors/{source.pk}/test-read/")
    result = response.context["read_result"]
    assert result["ok"] is True
    assert result["record_count"] == 1
    assert result["schema"] == [
        {"name": "id", "type": "integer", "required": True},
        {"name": "email", "type": "email", "required": True},
    ]
    adopted = staff.post(
        f"/connectors/{source.pk}/adopt-schema/", {"schema_json": result["schema_json"]}
    )
    assert adopted.status_code == 302
    assert [f.name for f in Connector.objects.get(pk=source.pk).schema.fields.all()] == [
        "id",
        "email",
    ]
