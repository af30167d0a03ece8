"""`rotate_encryption_key`: every secret at rest re-encrypted with the newest FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from connectors.models import Connector
from connectors.secrets import ENCRYPTED_PREFIX
from tests.helpers import make_connector

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored(table: str, column: str) -> list[str]:
    """The column as it sits in the database, encrypted."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> '' ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def readable_with(key: str, value: str) -> bool:
    try:
        Fernet(key.encode()).decrypt(value.removeprefix(ENCRYPTED_PREFIX).encode())
        return True
    except InvalidToken:
        return False


@pytest.fixture
def destination(db, settings):
    settings.FIELD_ENCRYPTION_KEY = [OLD_KEY]
    connector = make_connector(
        "http_destination",
        "Hooks",
        url="https://api.example.com/hooks",
        method="POST",
        auth={"type": "bearer", "token": "tok-123"},
        secret_variables={"hook_path": "/services/T1/B2/xyz"},
        signing_secret="whsec_new",
        previous_signing_secret="whsec_old",
    )
    connector.replace_headers(
        [
            {"name": "X-Api-Key", "value": "k-456", "secret": True},
            {"name": "X-Team", "value": "blue"},
        ]
    )
    return connector


@pytest.fixture
def signed_endpoint(destination):
    return make_connector(
        "ingest_endpoint", "Orders in", verification={"scheme": "github", "secret": "gh-789"}
    )


def test_it_re_encrypts_every_secret_with_the_newest_key(destination, signed_endpoint, settings):
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY, OLD_KEY]
    out = StringIO()

    call_command("rotate_encryption_key", stdout=out)

    assert out.getvalue().startswith(
        "Re-encrypted 7 secrets with the newest key (5 in connectors, 2 in headers)."
    )
    values = (
        stored("connectors_header", "value")
        + stored("connectors_connector", "auth")
        + stored("connectors_connector", "verification")
        + stored("connectors_connector", "secret_variables")
        + stored("connectors_connector", "signing_secret")
        + stored("connectors_connector", "previous_signing_secret")
    )
    # two headers, the auth, the sender verification, the secret variables, two signing secrets
    assert len(values) == 7
    for value in values:
        assert readable_with(NEW_KEY, value) and not readable_with(OLD_KEY, value)

    # The old key can go: everything still reads with the new one alone.
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY]
    connector = Connector.objects.get(pk=destination.pk)
    assert connector.auth == {"type": "bearer", "token": "tok-123"}
    assert connector.secret_variables == {"hook_path": "/services/T1/B2/xyz"}
    assert (connector.signing_secret, connector.previous_signing_secret) == (
        "whsec_new",
        "whsec_old",
    )
    assert connector.header_dict() == {"X-Api-Key": "k-456", "X-Team": "blue"}
    assert Connector.objects.get(pk=signed_endpoint.pk).verification["secret"] == "gh-789"


def test_it_says_which_row_it_cannot_decrypt_and_changes_nothing_there(destination, settings):
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY]  # the old key was dropped too early
    before = stored("connectors_connector", "auth")

    with pytest.raises(CommandError, match=r"Connector after id 0: .*Add the key"):
        call_command("rotate_encryption_key", stdout=StringIO())

    assert stored("connectors_connector", "auth") == before


def test_running_it_twice_is_harmless(destination, settings):
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY, OLD_KEY]
    call_command("rotate_encryption_key", stdout=StringIO())
    call_command("rotate_encryption_key", stdout=StringIO())

    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY]
    assert Connector.objects.get(pk=destination.pk).header_dict()["X-Api-Key"] == "k-456"
