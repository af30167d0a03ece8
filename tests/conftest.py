from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from connectors.api_tokens import ApiToken

# No time limit per example: a property's examples take 5 ms alone and 350 ms on a 2-core box
# busy with the rest of the suite, which failed a correct test ("Unreliable test timings").
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")


@pytest.fixture
def alice(db) -> User:
    """A staff member: may configure everything."""
    return User.objects.create_user("alice", "alice@example.com", "alice-password", is_staff=True)


@pytest.fixture
def bob(db) -> User:
    """A signed-in user without staff rights."""
    return User.objects.create_user("bob", "bob@example.com", "bob-password")


def member(username: str, role: str) -> User:
    """A user in one of the role groups (connectors/roles.py)."""
    from connectors.roles import set_role

    user = User.objects.create_user(username, f"{username}@example.com", f"{username}-password")
    set_role(user, role)
    return user


@pytest.fixture
def viewer(db) -> User:
    """Reads everything, changes nothing."""
    return member("victor", "viewer")


@pytest.fixture
def editor(db) -> User:
    """Configures, tests, replays and resends; no users."""
    return member("edith", "editor")


@pytest.fixture
def admin_member(db) -> User:
    """An admin by role (not a superuser): also manages users."""
    return member("ada", "admin")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(alice)[1]}")
    return client


@pytest.fixture
def staff(alice) -> Client:
    """A browser session signed in as alice."""
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and cached tokens live in the local-memory cache: no leaks between tests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def pytest_sessionfinish(session):
    # Django drops the SQLite test database; its companions (the write-lock file, the WAL,
    # the throttle cache of the servers that tests start) would pile up in the project.
    for leftover in settings.BASE_DIR.glob(f".test-db-{os.getpid()}.*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
