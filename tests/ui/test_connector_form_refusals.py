"""The connector forms show unusable URLs, templates and headers next to their field, never a 500."""

from __future__ import annotations

import json

import pytest

from connectors.models import Connector
from tests.ui.test_connector_forms import destination_form


@pytest.mark.parametrize(
    "url", ["http://example.com:99999/x", "http://example.com:{{ id }}/x", "http://[::1/x"]
)
def test_it_shows_an_unusable_url_next_to_the_url(staff, url):
    response = staff.post("/connectors/new/http_destination/", destination_form(url=url))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["url"]
    assert not Connector.objects.exists()


def test_it_shows_a_deeply_nested_body_template_next_to_it(staff):
    template = "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}"
    response = staff.post(
        "/connectors/new/http_destination/", destination_form(body_template=template)
    )
    assert response.status_code == 200
    (message,) = response.context["form"].errors["body_template"]
    assert "nests too deeply" in message


def test_it_shows_a_control_character_in_a_header_next_to_the_headers(staff):
    headers = [{"name": "X-Trace", "value": "a\u0000b"}]
    response = staff.post(
        "/connectors/new/http_destination/", destination_form(headers_json=json.dumps(headers))
    )
    assert response.status_code == 200
    (message,) = response.context["form"].errors["headers_json"]
    assert "X-Trace" in message and "U+0000" in message
