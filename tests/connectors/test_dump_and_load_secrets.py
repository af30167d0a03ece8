"""`dumpdata` writes secrets as ciphertext, never in clear; `loaddata` reads them back with the
same key, and refuses, saying why, with another."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.serializers.base import DeserializationError

from connectors.models import Connector, Header
from tests.helpers import make_connector

HEADER_NEEDLE = "header-needle-5a1f"
AUTH_NEEDLE = "auth-needle-77c2"
SIGNING_SECRET = "whsec_c2lnbmluZy1uZWVkbGUtOTEx"


@pytest.fixture
def destination(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    connector = make_connector(
        "http_destination",
        name="Dumped",
        url="https://hooks.example/in",
        method="POST",
        auth={"type": "basic", "username": "u", "password": AUTH_NEEDLE},
        signing_secret=SIGNING_SECRET,
    )
    connector.replace_headers([{"name": "X-Api-Key", "value": HEADER_NEEDLE, "secret": True}])
    return connector


def dump(tmp_path):
    out = StringIO()
    call_command("dumpdata", "connectors", "--indent", "1", stdout=out)
    path = tmp_path / "dump.json"
    path.write_text(out.getvalue())
    return out.getvalue(), path


def test_dumpdata_never_writes_a_secret_in_clear(destination, tmp_path):
    text, _ = dump(tmp_path)
    assert '"name": "Dumped"' in text
    for needle in (HEADER_NEEDLE, AUTH_NEEDLE, SIGNING_SECRET, "c2lnbmluZy1uZWVkbGUtOTEx"):
        assert needle not in text


def test_loaddata_of_a_dump_reads_the_secrets_back(destination, tmp_path):
    _, path = dump(tmp_path)
    Connector.objects.all().delete()

    call_command("loaddata", str(path), stdout=StringIO())

    connector = Connector.objects.get(slug=destination.slug)
    assert connector.auth == {"type": "basic", "username": "u", "password": AUTH_NEEDLE}
    assert connector.signing_secret == SIGNING_SECRET
    assert Header.objects.get(connector=connector).value == HEADER_NEEDLE
    assert connector.undecryptable_secrets() == []


def test_loaddata_with_another_key_refuses_and_says_why(destination, tmp_path, settings):
    _, path = dump(tmp_path)
    Connector.objects.all().delete()
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    with pytest.raises(DeserializationError, match="cannot be decrypted with FIELD_ENCRYPTION_KEY"):
        call_command("loaddata", str(path), stdout=StringIO())
    assert not Connector.objects.exists()
