"""Production settings: `check --deploy` is clean with DEBUG off, and unsafe set-ups are refused."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings

ROOT = django_settings.BASE_DIR
FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("PYTEST", "TESTING", "DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DJANGO_")
        )
    }
    return subprocess.run(
        args,
        cwd=ROOT,
        # A cache of its own: the default file cache would create its folder in the project.
        env={**clean, "TESTING": "False", "CACHE_URL": "locmemcache://", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_it_passes_check_deploy_with_debug_off():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_it_refuses_to_run_without_field_encryption_key_with_debug_off():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy"],
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.returncode != 0
    assert "superconnector.E001" in result.stderr
    assert "FIELD_ENCRYPTION_KEY" in result.stderr


@pytest.mark.slow
def test_the_application_does_not_boot_without_field_encryption_key():
    result = run(
        [sys.executable, "-c", "import osmosproject.wsgi"],
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.returncode != 0
    assert "Set FIELD_ENCRYPTION_KEY" in result.stderr


@pytest.mark.slow
def test_it_refuses_the_development_secret_key_with_debug_off():
    result = run([sys.executable, "manage.py", "check"], DEBUG="False")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_the_gunicorn_configuration_loads_the_application():
    result = run(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "--check-config",
            "-c",
            "osmosproject/gunicorn.conf.py",
            "osmosproject.wsgi",
        ],
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=FIELD_ENCRYPTION_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
