"""The dashboard's counts and health, and the demo workspace: created, tried, removed in one click."""

from __future__ import annotations

import json

from django.test import Client

from connectors.models import Connector, Schema
from pipelines import demo
from pipelines.delivery.models import Delivery
from pipelines.ingest.receive import accept_batch
from pipelines.mapping.models import Pipeline


def test_it_offers_a_first_step_on_an_empty_database(staff):
    html = staff.get("/").content.decode()
    assert "Create your first connector" in html
    assert "Create the demo workspace" in html


def test_it_shows_pipeline_health(staff, orders, orders_to_outbox):
    accept_batch(orders, [{"order_id": 1, "email": "a@example.com"}])
    (row,) = staff.get("/").context["pipelines"]
    assert row["last_run"].status == "succeeded"
    assert row["backlog"] == 1
    assert row["failing"] == 0


def test_it_creates_the_demo_workspace_and_shows_its_tokens_once(staff):
    response = staff.post("/demo/create/", follow=True)
    assert Connector.objects.filter(slug__in=demo.SLUGS).count() == 3
    assert Pipeline.objects.count() == 2
    panel = response.context["demo"]
    assert panel["tokens_shown"]
    orders = Connector.objects.get(slug="demo-orders")
    token = panel["commands"][0][1].split("Bearer ")[1].split("'")[0]
    assert orders.check_token(token)
    assert token not in staff.get("/").content.decode()


def test_it_sends_the_demo_orders_through_both_pipelines(staff, settings):
    settings.DEBUG = True
    staff.post("/demo/create/")
    staff.post("/demo/send/")
    mailbox = Connector.objects.get(slug="demo-clean-orders")
    records = [json.loads(r.data) for r in mailbox.mailbox_records.all()]
    assert records[0] == {
        "id": 1001,
        "email": "ada@example.com",
        "customer": {"name": "Ada Lovelace"},
        "amount": 42.5,
        "country": "GB",
    }
    assert len(records) == 2
    assert Delivery.objects.count() == 2
    assert Delivery.objects.first().destination.url.startswith(
        "http://testserver/demo/echo/orders/"
    )


def test_it_removes_the_demo_workspace(staff):
    staff.post("/demo/create/")
    staff.post("/demo/send/")
    staff.post("/demo/remove/")
    assert not Connector.objects.exists()
    assert not Schema.objects.exists()


def test_it_echoes_under_debug_only(settings, db):
    settings.DEBUG = True
    response = Client().post(
        "/demo/echo/orders/7",
        '{"a": 1}',
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer s3cret",
    )
    assert response.json() == {"ok": True, "received": {"a": 1}}
    (echo,) = demo.panel_echoes()
    assert echo["headers"]["Authorization"] == "********"
    settings.DEBUG = False
    assert Client().post("/demo/echo/", "{}", content_type="application/json").status_code == 404


def test_it_creates_the_demo_on_first_run_and_prints_how_to_try_it(db):
    lines = demo.first_run_lines("http://127.0.0.1:8000/")
    assert "demo workspace was created" in lines[0]
    assert "http://127.0.0.1:8000/api/v1/ingest/demo-orders/" in lines[1]
    assert demo.first_run_lines("http://127.0.0.1:8000/") == []
