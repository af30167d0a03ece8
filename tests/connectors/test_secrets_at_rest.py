from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from connectors import secrets
from connectors.models import Connector, Header


def test_it_encrypts_header_values_in_the_database(db):
    connector = Connector.objects.create(
        name="Dest", kind="http_destination", url="https://x.example/"
    )
    connector.replace_headers(
        [{"name": "Authorization", "value": "Bearer top-secret-123", "secret": True}]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM connectors_header")
        (stored,) = cursor.fetchone()
    assert "top-secret-123" not in stored
    assert stored.startswith(secrets.ENCRYPTED_PREFIX)
    assert Header.objects.get().value == "Bearer top-secret-123"


@pytest.mark.django_db(transaction=True)
def test_the_secret_is_not_in_the_database_file(settings):
    connector = Connector.objects.create(
        name="Dest", kind="http_destination", url="https://x.example/"
    )
    connector.replace_headers(
        [{"name": "X-Api-Key", "value": "plaintext-needle-42", "secret": True}]
    )
    connector.auth = {"type": "bearer", "token": "auth-needle-43"}
    connector.signing_secret = "whsec_c2lnbmluZy1uZWVkbGUtNDQ="
    connector.save()
    Connector.objects.create(
        name="In",
        kind="ingest_endpoint",
        verification={"scheme": "github", "secret": "verification-needle-45"},
    )
    raw = stored_bytes(settings.DATABASES["default"]["NAME"])
    # The encrypted values are there: the bytes searched are the stored rows.
    assert raw.count(secrets.ENCRYPTED_PREFIX.encode()) >= 4
    for needle in (
        b"plaintext-needle-42",
        b"auth-needle-43",
        b"c2lnbmluZy1uZWVkbGUtNDQ",
        b"verification-needle-45",
    ):
        assert needle not in raw


def stored_bytes(name: str) -> bytes:
    """What the database holds: SQLite's file, or every connector row as PostgreSQL stores it."""
    if connection.vendor != "sqlite":
        # NAME is a database name here, not a path: opening it with sqlite3 would create an
        # empty file of that name in the working directory and find nothing in it.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c::text FROM connectors_connector c"
                " UNION ALL SELECT h::text FROM connectors_header h"
            )
            return "\n".join(row for (row,) in cursor.fetchall()).encode()
    connection.close()
    path = Path(name)
    assert path.is_file(), path
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(FULL)").fetchall()
    return path.read_bytes()


def test_it_decrypts_with_an_older_key_after_rotation(settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [old]
    stored = secrets.encrypt("rotate me")
    settings.FIELD_ENCRYPTION_KEY = [new, old]
    assert secrets.decrypt(stored) == "rotate me"
    rotated = secrets.reencrypt(stored)
    settings.FIELD_ENCRYPTION_KEY = [new]
    assert secrets.decrypt(rotated) == "rotate me"


def test_it_says_clearly_when_no_key_decrypts(settings):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    stored = secrets.encrypt("lost")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEY"):
        secrets.decrypt(stored)


def test_tokens_are_hashed_and_compared_whole(db):
    connector = Connector.objects.create(name="In", kind="ingest_endpoint")
    token = connector.rotate_token()
    assert connector.token_hash == secrets.hash_token(token) and token not in connector.token_hash
    assert connector.check_token(token)
    assert not connector.check_token(token[:-1])
    assert not connector.check_token("")
    assert not Connector(name="x", kind="ingest_endpoint").check_token("")
