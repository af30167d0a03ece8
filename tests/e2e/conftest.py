"""Real-browser tests: Playwright's sync API driving Debian's Chromium against `live_server`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# next to one unless told that this is deliberate.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
# `make screenshots` points this at docs/screenshots; a plain test run writes its pictures
# to a temporary folder, so it never rewrites the committed ones.
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "")
PASSWORD = "alice-password"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        # Never a silent skip: the browser tests are part of the suite (.ci/run installs it).
        pytest.fail("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


@pytest.fixture
def signed_in(page, django_user_model):
    """A staff member who logged in through the login form."""
    django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD, is_staff=True)
    log_in(page)
    return page


def log_in(page, username: str = "alice") -> None:
    """Through the login form, as a person does, until the dashboard shows."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(page, screenshots):
    """Take a picture of the page as `<name>.png`."""

    def take(name: str) -> None:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 0

    return take
