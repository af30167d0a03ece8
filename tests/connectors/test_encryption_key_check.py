"""With DEBUG off, nothing runs without FIELD_ENCRYPTION_KEY: a key derived from SECRET_KEY would
make every stored secret unreadable the day SECRET_KEY changes."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from connectors import secrets


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.TESTING = False
    settings.FIELD_ENCRYPTION_KEY = []
    return settings


def test_check_deploy_refuses_to_run_without_the_key(production):
    with pytest.raises(SystemCheckError, match=r"superconnector\.E001.*FIELD_ENCRYPTION_KEY"):
        call_command("check", "--deploy", stdout=StringIO())


def test_it_is_not_a_deploy_only_check_so_migrate_and_qcluster_refuse_too(production):
    assert [error.id for error in run_checks()] == ["superconnector.E001"]


def test_no_secret_is_encrypted_with_a_derived_key(production):
    with pytest.raises(ImproperlyConfigured, match="Set FIELD_ENCRYPTION_KEY"):
        secrets.encrypt("anything")


def test_it_is_quiet_with_a_key(production):
    production.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    call_command("check", stdout=StringIO())
    assert secrets.decrypt(secrets.encrypt("x")) == "x"


def test_development_still_needs_nothing(production):
    production.DEBUG = True
    call_command("check", stdout=StringIO())
    assert secrets.decrypt(secrets.encrypt("x")) == "x"


def test_it_prints_the_key_an_installation_without_one_used(settings):
    settings.FIELD_ENCRYPTION_KEY = []
    stored = secrets.encrypt("kept")
    out = StringIO()
    call_command("derived_encryption_key", stdout=out)
    settings.FIELD_ENCRYPTION_KEY = [out.getvalue().strip()]
    assert secrets.decrypt(stored) == "kept"
