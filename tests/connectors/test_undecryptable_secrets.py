"""After FIELD_ENCRYPTION_KEY changes, secrets that no key opens are shown as such, never a 500
or a 404, and the connector is not used to send without them."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from connectors import auth, http, outbound, secrets
from connectors.models import Connector
from tests.helpers import make_connector

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
MARKER = "cannot be decrypted: the encryption key changed"


@pytest.fixture
def destination(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.FIELD_ENCRYPTION_KEY = [OLD_KEY]
    connector = make_connector(
        "http_destination",
        name="Locked out",
        url="https://hooks.example/in",
        method="POST",
        auth={"type": "bearer", "token": "auth-token-1"},
        signing_secret="whsec_c2VjcmV0LXNpZ25pbmcta2V5",
    )
    connector.replace_headers(
        [
            {"name": "X-Api-Key", "value": "header-key-1", "secret": True},
            {"name": "X-Team", "value": "blue"},
        ]
    )
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY]  # SECRET_KEY or the key changed
    return connector


def test_the_api_lists_and_shows_the_connector_with_the_marker(api, destination):
    listed = api.get("/api/v1/connectors/")
    assert listed.status_code == 200
    detail = api.get(f"/api/v1/connectors/{destination.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert body["auth"] == {"type": MARKER}
    assert {"name": "X-Api-Key", "value": MARKER, "secret": True} in body["headers"]
    assert {"name": "X-Team", "value": MARKER, "secret": False} in body["headers"]
    assert f"signing_secret {MARKER}" in body["undecryptable_secrets"]
    assert listed.json()["results"][0]["undecryptable_secrets"] == body["undecryptable_secrets"]


@pytest.mark.parametrize(
    "page", ["/", "/connectors/", "/connectors/{pk}/", "/connectors/{pk}/edit/"]
)
def test_the_pages_answer_200_with_the_marker(client, alice, destination, page):
    client.force_login(alice)
    response = client.get(page.format(pk=destination.pk))
    assert response.status_code == 200
    if "{pk}" in page:
        assert MARKER in response.content.decode()


def test_a_delivery_is_refused_and_the_destination_paused(destination):
    connector = Connector.objects.get(pk=destination.pk)
    with pytest.raises(outbound.RenderError, match=MARKER):
        outbound.render_request(connector, [{"id": 1}], idempotency_key="k")
    connector.refresh_from_db()
    assert not connector.enabled
    assert (
        MARKER in connector.disabled_reason and "FIELD_ENCRYPTION_KEY" in connector.disabled_reason
    )


def test_no_request_goes_out_with_an_undecryptable_auth_or_header(destination):
    connector = Connector.objects.get(pk=destination.pk)
    with pytest.raises(http.TransportError, match=MARKER) as error:
        auth.send_with_auth(connector.auth, "GET", "http://127.0.0.1:9/", cache_key="x")
    assert not error.value.retryable
    with pytest.raises(http.TransportError, match=MARKER):
        auth.send_with_auth(
            {}, "GET", "http://127.0.0.1:9/", cache_key="x", headers=connector.header_dict()
        )


def test_saving_keeps_the_ciphertext_so_restoring_the_key_brings_the_secrets_back(
    api, destination, settings
):
    response = api.patch(
        f"/api/v1/connectors/{destination.pk}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.json()
    page = api.get(f"/api/v1/connectors/{destination.pk}/").json()
    response = api.put(f"/api/v1/connectors/{destination.pk}/", page, format="json")
    assert response.status_code == 200, response.json()

    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY, OLD_KEY]
    connector = Connector.objects.get(pk=destination.pk)
    assert connector.name == "Renamed"
    assert connector.auth == {"type": "bearer", "token": "auth-token-1"}
    assert connector.signing_secret == "whsec_c2VjcmV0LXNpZ25pbmcta2V5"
    assert connector.header_dict() == {"X-Api-Key": "header-key-1", "X-Team": "blue"}
    assert connector.undecryptable_secrets() == []


def test_the_marker_is_never_written_as_a_secret(destination):
    connector = Connector.objects.get(pk=destination.pk)
    connector.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT auth, signing_secret FROM connectors_connector")
        stored = cursor.fetchone()
    assert all(value.startswith(secrets.ENCRYPTED_PREFIX) for value in stored)
    assert MARKER not in "".join(stored)
