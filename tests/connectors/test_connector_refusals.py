"""Connector settings that cannot work are refused on save with a 400 naming the field, never a 500."""

from __future__ import annotations

import pytest

from connectors.outbound import RenderError, render_request
from tests.helpers import make_connector

# Each nested deeper than Python's recursion allows, and short enough for a URL (2000 characters).
DEEP_PARENS = "{{ " + "(" * 900 + "1" + ")" * 900 + " }}"
LONG_FILTER_CHAIN = "{{ x" + "|lower" * 300 + " }}"
LONG_SUM = "{{ 1" + " + 1" * 450 + " }}"
MANY_MINUSES = "{{ " + "-" * 1900 + "1 }}"


@pytest.fixture(autouse=True)
def _no_name_lookups(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def destination(**overrides) -> dict:
    return {
        "name": "Orders out",
        "kind": "http_destination",
        "schema": {"fields": [{"name": "x", "type": "string"}]},
        "url": "https://api.example.com/orders",
        "method": "POST",
        **overrides,
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com:99999/x", "port"),
        ("http://example.com:{{ x }}/x", "port"),
        ("http://example.com:-1/x", "port"),
        ("http://[::1/x", "not a valid URL"),
        ("http://[zz]/x", "not a valid URL"),
    ],
)
def test_it_refuses_a_url_that_cannot_be_parsed(api, url, message):
    response = api.post("/api/v1/connectors/", destination(url=url), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["url"]
    assert message in response.json()["url"][0]


def test_it_refuses_a_bad_port_on_update_too(api):
    created = api.post("/api/v1/connectors/", destination(), format="json").json()
    response = api.patch(
        f"/api/v1/connectors/{created['id']}/", {"url": "http://[::1/x"}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()


def test_it_still_accepts_a_placeholder_in_the_host(api):
    response = api.post(
        "/api/v1/connectors/", destination(url="https://{{ x }}.example.com/orders"), format="json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("template", [DEEP_PARENS, LONG_FILTER_CHAIN, LONG_SUM, MANY_MINUSES])
def test_it_refuses_deeply_nested_templates_in_every_templated_field(api, template):
    cases = [
        ("body_template", destination(body_template=template)),
        ("url", destination(url="https://api.example.com/" + template)),
        ("headers", destination(headers=[{"name": "X-Trace", "value": template}])),
        (
            "body",
            {
                "name": "Orders in",
                "kind": "http_source",
                "url": "https://api.example.com/orders",
                "body": template,
            },
        ),
    ]
    for field, document in cases:
        response = api.post("/api/v1/connectors/", document, format="json")
        assert response.status_code == 400, (field, response.content)
        assert list(response.json()) == [field]
        assert "nest" in str(response.json()[field])


def test_it_refuses_a_url_that_renders_unparseable(db):
    connector = make_connector(
        "http_destination",
        url="https://{{ host }}/orders",
        method="POST",
        auth={"type": "api_key", "in": "query", "name": "key", "value": "k-secret"},
    )
    with pytest.raises(RenderError) as error:
        render_request(connector, [{"host": "[::1"}], idempotency_key="k")
    assert str(error.value) == "the URL cannot be called: not a valid URL: Invalid IPv6 URL"
