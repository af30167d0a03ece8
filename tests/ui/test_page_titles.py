"""Every page's <title> is plain text (a block left open in a template would pour a page into it)."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

PAGES = [
    "/",
    "/connectors/",
    "/connectors/new/",
    "/connectors/new/ingest_endpoint/",
    "/pipelines/",
    "/pipelines/new/",
    "/runs/",
    "/runs/?by=minute",
    "/deliveries/",
    "/audit/",
    "/alerts/",
    "/users/",
    "/config/upload/",
]


@pytest.mark.parametrize("path", PAGES)
def test_the_title_is_one_line_of_text(db, path):
    admin = User.objects.create_superuser("root", "root@example.com", "root-password")
    client = Client()
    client.force_login(admin)
    page = client.get(path)
    assert page.status_code == 200, path
    [title] = re.findall(r"<title>(.*?)</title>", page.content.decode(), re.S)
    assert "<" not in title and "\n" not in title.strip(), title[:200]
    assert title.strip().endswith("· Super Connector")
