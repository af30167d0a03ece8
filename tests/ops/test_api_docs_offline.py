"""The API docs page works without internet: Swagger UI's files come from this server."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.test import Client


def asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


def test_it_loads_every_docs_asset_from_this_server(db):
    response = Client().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = asset_urls(html)
    assert any("swagger-ui" in url and url.endswith(".js") for url in urls), urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not on this server"


def test_each_docs_asset_is_served(db):
    client = Client()
    html = client.get("/api/v1/docs/").content.decode()
    for url in asset_urls(html):
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url
