"""Every page is for staff: anonymous people are sent to log in, others get a 403."""

from __future__ import annotations

import pytest
from django.test import Client

from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run
from pipelines.uploads.models import Upload
from tests.helpers import make_connector


@pytest.fixture
def pages(orders, outbox, orders_to_outbox):
    run = Run.objects.create(source=orders, trigger=Run.Trigger.INGEST)
    destination = make_connector(
        "http_destination", "API", url="https://api.example.com/x", method="POST"
    )
    from tests.helpers import make_pipeline

    pipeline = make_pipeline(orders, destination, name="To API")
    delivery = Delivery.objects.create(
        pipeline=pipeline, destination=destination, run=run, records=[{}]
    )
    upload = Upload.objects.create(source=orders, filename="a.csv")
    return [
        "/",
        "/connectors/",
        "/connectors/new/",
        "/connectors/new/ingest_endpoint/",
        f"/connectors/{orders.pk}/",
        f"/connectors/{orders.pk}/edit/",
        f"/connectors/{outbox.pk}/",
        f"/connectors/{destination.pk}/",
        f"/connectors/{orders.pk}/upload/",
        f"/uploads/{upload.pk}/",
        f"/uploads/{upload.pk}/progress/",
        "/pipelines/",
        "/pipelines/new/",
        f"/pipelines/{orders_to_outbox.pk}/",
        "/runs/",
        f"/runs/{run.pk}/",
        "/deliveries/",
        f"/deliveries/{delivery.pk}/",
    ]


def test_it_sends_anonymous_people_to_the_login_page(pages):
    for url in pages:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_it_refuses_signed_in_people_without_staff_rights(pages, not_staff):
    for url in pages:
        assert not_staff.get(url).status_code == 403, url


def test_it_shows_every_page_to_staff(pages, staff):
    for url in pages:
        assert staff.get(url).status_code == 200, url


def test_it_refuses_actions_to_people_without_staff_rights(orders, not_staff):
    for url in (
        f"/connectors/{orders.pk}/rotate-token/",
        f"/connectors/{orders.pk}/delete/",
        f"/connectors/{orders.pk}/sample/",
        "/connectors/infer-schema/",
        "/demo/create/",
        "/deliveries/replay-dead/",
    ):
        assert not_staff.post(url).status_code == 403, url


def test_it_requires_the_csrf_token(orders, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/connectors/{orders.pk}/rotate-token/").status_code == 403


def test_it_logs_in_with_a_password(alice):
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": "alice-password"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_shows_a_wrong_password_on_the_login_page(alice):
    response = Client().post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
