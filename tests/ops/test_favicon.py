"""Every page has an icon: no 404 (and no log warning) for /favicon.ico."""

from __future__ import annotations

from django.test import Client


def test_it_serves_favicon_ico(db):
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code in (200, 301)
    if response.status_code == 301:
        response = client.get(response["Location"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/")


def test_the_pages_link_an_icon(alice):
    client = Client()
    assert 'rel="icon"' in client.get("/login/").content.decode()
    client.force_login(alice)
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert 'rel="icon"' in dashboard.content.decode()
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
