"""The README's API-token one-liner works as written after `make run`, and fails loudly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.crash.processes import ROOT

pytestmark = pytest.mark.slow

VENV = Path(sys.executable).parent.parent


def readme_token_lines() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^TOKEN=\$\(.*\n.*\n", readme, re.MULTILINE)
    assert match, "the README's token one-liner"
    return match.group(0)


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the project, as a newcomer has it: the virtualenv, no .env, no database."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "superconnector"
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            (copy / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name.decode())
    (copy / ".venv").symlink_to(VENV)
    return copy


def shell(checkout: Path, script: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "TESTING", "DJANGO_", "MAKE"))
        and key not in ("DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL")
        and key not in ("REDIS_URL", "CACHE_URL")
    }
    return subprocess.run(
        ["bash", "-c", script],
        cwd=checkout,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": "a-long-admin-password"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_it_creates_a_token_after_make_run(checkout):
    # What `make run` does before serving: the .env, the database, the admin account.
    prepare = shell(
        checkout,
        "set -e; make -s .env; .venv/bin/python manage.py migrate -v 0;"
        " .venv/bin/python manage.py createsuperuser --noinput --username admin --email a@b.co",
    )
    assert prepare.returncode == 0, prepare.stdout + prepare.stderr
    result = shell(checkout, readme_token_lines() + 'echo "token=$TOKEN"')
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"token=sca_[A-Za-z0-9_-]{40,}\n", result.stdout), (
        result.stdout + result.stderr
    )


def test_it_fails_loudly_without_the_settings_make_run_writes(checkout):
    result = shell(checkout, readme_token_lines() + 'echo "token=$TOKEN"')
    assert result.returncode != 0
    assert "token=" not in result.stdout
    assert "no token" in result.stderr
    assert "SECRET_KEY" in result.stderr
