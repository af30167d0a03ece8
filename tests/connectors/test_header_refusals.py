"""Header names and values hold only what RFC 9110 allows: no control characters, saved or rendered."""

from __future__ import annotations

import pytest

from connectors import http
from connectors.outbound import RenderError, render_request
from tests.helpers import make_connector


@pytest.fixture(autouse=True)
def _loopback_peers(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def destination(headers: list[dict]) -> dict:
    return {
        "name": "Orders out",
        "kind": "http_destination",
        "schema": {"fields": [{"name": "name", "type": "string"}]},
        "url": "https://api.example.com/orders",
        "headers": headers,
    }


@pytest.mark.parametrize("value", ["a\x00b", "a\x1bb", "a\x7fb", "a\rb", "a\nb", "a\x0bb", "€"])
def test_it_refuses_a_control_character_in_a_saved_header_value(api, value):
    response = api.post(
        "/api/v1/connectors/",
        destination([{"name": "X-Trace", "value": "ok"}, {"name": "X-Name", "value": value}]),
        format="json",
    )
    assert response.status_code == 400, response.content
    (message,) = response.json()["headers"]["1"]["value"]
    assert "X-Name" in message and "U+" in message
    assert value not in message


@pytest.mark.parametrize("name", ["X-Na\nme", "X Name", "X-Name\x00", ""])
def test_it_refuses_a_header_name_that_is_not_a_token(api, name):
    response = api.post(
        "/api/v1/connectors/", destination([{"name": name, "value": "v"}]), format="json"
    )
    assert response.status_code == 400, response.content
    assert "name" in response.json()["headers"]["0"]


def test_it_accepts_tabs_spaces_and_latin_1_in_a_header_value(api):
    response = api.post(
        "/api/v1/connectors/",
        destination([{"name": "X-Name", "value": "Zoë\tand {{ name }}"}]),
        format="json",
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("value", ["a\x00b", "a\x1fb", "a\r\nX-Injected: 1"])
def test_it_refuses_a_header_that_renders_with_a_control_character(db, value):
    connector = make_connector(
        "http_destination", url="https://api.example.com/orders", method="POST"
    )
    connector.replace_headers([{"name": "X-Name", "value": "{{ name }}"}])
    with pytest.raises(RenderError) as error:
        render_request(connector, [{"name": value}], idempotency_key="k")
    assert "X-Name" in str(error.value)
    assert value not in str(error.value)


def test_the_transport_sends_no_header_with_a_control_character(httpserver):
    with pytest.raises(http.TransportError) as error:
        http.send("POST", httpserver.url_for("/"), headers={"X-Name": "a\x00b"}, timeout=5)
    assert "X-Name" in error.value.message
    assert not httpserver.log


def test_it_refuses_an_api_key_header_name_that_is_not_a_token(api):
    document = destination([])
    document["auth"] = {"type": "api_key", "name": "X-Key\x00", "value": "k"}
    response = api.post("/api/v1/connectors/", document, format="json")
    assert response.status_code == 400, response.content
    assert "auth" in response.json()
