"""Roles on the pages: every POST of the `ui` namespace refuses a viewer, walked from the URL
patterns themselves so a page added later cannot escape; viewers read the lists."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from osmosproject import ui_urls
from pipelines.alerts.models import AlertChannel, AlertRule
from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run
from pipelines.uploads.models import Upload
from tests.helpers import make_connector, make_pipeline

# Not behind a role: signing in and out, and the DEBUG-only echo receiver of the demo.
OPEN = {"login", "logout", "demo_echo", "demo_echo_path"}


@pytest.fixture
def objects(orders, outbox, orders_to_outbox, alice):
    destination = make_connector(
        "http_destination", "API", url="https://api.example.com/x", method="POST"
    )
    pipeline = make_pipeline(orders, destination, name="To API")
    run = Run.objects.create(source=orders, trigger=Run.Trigger.INGEST)
    delivery = Delivery.objects.create(
        pipeline=pipeline, destination=destination, run=run, records=[{}]
    )
    upload = Upload.objects.create(source=orders, filename="a.csv")
    channel = AlertChannel.objects.create(name="On call", kind="email", addresses=["a@b.example"])
    rule = AlertRule.objects.create(kind=AlertRule.Kind.PULL_FAILED)
    return {
        "alert_channel": channel.pk,
        "alert_rule": rule.pk,
        "connector": orders.pk,
        "upload": upload.pk,
        "pipeline": pipeline.pk,
        "run": run.pk,
        "deliver": delivery.pk,
        "user": alice.pk,
    }


def url_of(pattern, objects: dict) -> str:
    route = str(pattern.pattern)
    name = pattern.name
    prefix = next((key for key in objects if name.startswith(key)), None)
    route = re.sub(r"<int:pk>", lambda m: str(objects[prefix]), route)
    route = route.replace("<str:kind>", "ingest_endpoint").replace("<path:rest>", "x")
    route = route.replace("<slug:name>", "discord-webhook")
    return "/" + route


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_viewer_gets_403_from_every_post(objects, viewer):
    client = client_for(viewer)
    walked = 0
    for pattern in ui_urls.urlpatterns:
        if pattern.name in OPEN:
            continue
        url = url_of(pattern, objects)
        assert client.post(url, {}).status_code == 403, url
        walked += 1
    assert walked > 30


def test_the_open_pages_are_only_those(objects, viewer):
    names = {p.name for p in ui_urls.urlpatterns}
    assert names >= OPEN
    assert "connector_delete" in names and "delivery_replay" in names


def test_an_editor_may_post(objects, editor):
    client = client_for(editor)
    response = client.post(f"/deliveries/{objects['deliver']}/replay/")
    assert response.status_code == 302


def test_a_viewer_reads_the_pages_without_the_changing_buttons(objects, viewer):
    client = client_for(viewer)
    for url in ("/", "/connectors/", "/pipelines/", "/runs/", "/deliveries/"):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/connectors/{objects['connector']}/").content.decode()
    assert "/delete/" not in page and "/edit/" not in page
    page = client.get(f"/deliveries/{objects['deliver']}/").content.decode()
    assert "/replay/" not in page


def test_an_editor_sees_the_changing_buttons(objects, editor):
    page = client_for(editor).get(f"/connectors/{objects['connector']}/").content.decode()
    assert "/delete/" in page and "/edit/" in page


def test_the_users_page_is_for_admins(objects, editor, admin_member):
    assert client_for(editor).get("/users/").status_code == 403
    assert client_for(admin_member).get("/users/").status_code == 200
