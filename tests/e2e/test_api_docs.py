"""/api/v1/docs/ in a browser that cannot reach the internet: Swagger UI still renders."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_renders_the_operations_without_internet(page, live_server):
    blocked: list[str] = []

    def local_only(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto("/api/v1/docs/")
    page.locator(".opblock-summary-path", has_text="/api/v1/ingest/{slug}/").first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert blocked == []
