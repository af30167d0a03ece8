"""Credentials in a URL's userinfo (`https://user:password@host/`) are moved to basic auth when a
connector is saved: a URL is stored in clear and shown everywhere, auth is encrypted and masked."""

from __future__ import annotations

import pytest

from connectors.models import Connector
from connectors.secrets import MASK

FIELDS = {"fields": [{"name": "id", "type": "integer"}]}


@pytest.fixture(autouse=True)
def _public_enough(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@pytest.mark.parametrize("kind", ["http_destination", "http_source"])
def test_it_moves_url_credentials_into_basic_auth(api, kind):
    answer = api.post(
        "/api/v1/connectors/",
        {
            "name": "Hooks",
            "kind": kind,
            "url": "https://svc:p%40ss%2Fword@api.example.com/hooks?x=1",
            "schema": FIELDS,
        },
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    assert answer.json()["url"] == "https://api.example.com/hooks?x=1"
    assert answer.json()["auth"] == {"type": "basic", "username": "svc", "password": MASK}
    connector = Connector.objects.get(pk=answer.json()["id"])
    assert connector.auth == {"type": "basic", "username": "svc", "password": "p@ss/word"}
    assert "p%40ss" not in str(Connector.objects.filter(pk=connector.pk).values("url", "auth")[0])


def test_a_token_alone_in_the_url_becomes_a_secret_username(api):
    answer = api.post(
        "/api/v1/connectors/",
        {
            "name": "Hooks",
            "kind": "http_destination",
            "url": "https://tok_live_0123456789@api.example.com/hooks",
            "schema": FIELDS,
        },
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    assert answer.json()["auth"] == {
        "type": "basic",
        "username": MASK,
        "password": "",
        "username_secret": True,
    }
    assert "tok_live_0123456789" not in answer.content.decode()
    connector = Connector.objects.get(pk=answer.json()["id"])
    assert connector.auth["username"] == "tok_live_0123456789"


def test_it_moves_them_on_an_edit_too(api):
    created = api.post(
        "/api/v1/connectors/",
        {
            "name": "Hooks",
            "kind": "http_destination",
            "url": "https://a.example.com/",
            "schema": FIELDS,
        },
        format="json",
    ).json()

    answer = api.patch(
        f"/api/v1/connectors/{created['id']}/",
        {"url": "https://svc:secret-pass@b.example.com/"},
        format="json",
    )

    assert answer.status_code == 200, answer.json()
    assert answer.json()["url"] == "https://b.example.com/"
    assert Connector.objects.get(pk=created["id"]).auth["password"] == "secret-pass"


def test_it_refuses_url_credentials_beside_another_auth(api):
    answer = api.post(
        "/api/v1/connectors/",
        {
            "name": "Hooks",
            "kind": "http_destination",
            "url": "https://svc:secret-pass@api.example.com/",
            "auth": {"type": "bearer", "token": "other-token"},
            "schema": FIELDS,
        },
        format="json",
    )

    assert answer.status_code == 400
    assert "auth (basic)" in answer.json()["url"][0]
    assert "secret-pass" not in answer.content.decode()


def test_it_refuses_templated_url_credentials(api):
    answer = api.post(
        "/api/v1/connectors/",
        {
            "name": "Hooks",
            "kind": "http_destination",
            "url": "https://svc:{{ password }}@api.example.com/",
            "variables": {"password": "x"},
            "schema": FIELDS,
        },
        format="json",
    )

    assert answer.status_code == 400
    assert "cannot be templated" in answer.json()["url"][0]
