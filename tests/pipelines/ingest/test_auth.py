from __future__ import annotations

from pipelines.runs.models import Run
from tests.helpers import make_connector


def test_it_refuses_a_missing_or_wrong_token(orders, client):
    url = f"/api/v1/ingest/{orders.slug}/"
    assert client.post(url, {}, content_type="application/json").status_code == 401
    response = client.post(
        url, {}, content_type="application/json", HTTP_AUTHORIZATION="Bearer sc_wrong"
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_connectors_token_gets_the_same_401(orders, post):
    other = make_connector("ingest_endpoint", "Other")
    other_token = other.rotate_token()
    wrong = post(orders, {"order_id": 1, "email": "a@example.com"}, token="sc_wrong")
    foreign = post(orders, {"order_id": 1, "email": "a@example.com"}, token=other_token)
    assert foreign.status_code == wrong.status_code == 401
    assert foreign.json() == wrong.json()
    assert Run.objects.count() == 0


def test_a_mailbox_token_does_not_open_an_ingest_endpoint_of_the_same_slug(db, client):
    mailbox = make_connector("mailbox", "Box")
    token = mailbox.rotate_token()
    response = client.post(
        f"/api/v1/ingest/{mailbox.slug}/",
        {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 404


def test_an_unknown_slug_is_404(db, client):
    assert (
        client.post("/api/v1/ingest/nope/", {}, content_type="application/json").status_code == 404
    )


def test_a_disabled_endpoint_is_403(orders, post):
    orders.enabled = False
    orders.save()
    assert post(orders, {"order_id": 1, "email": "a@example.com"}).status_code == 403


def test_only_post_is_allowed(orders, client):
    response = client.get(
        f"/api/v1/ingest/{orders.slug}/", HTTP_AUTHORIZATION=f"Bearer {orders.token}"
    )
    assert response.status_code == 405


def test_it_throttles_per_connector_with_retry_after(orders, post):
    orders.throttle_rate = "2/min"
    orders.save()
    record = {"order_id": 1, "email": "a@example.com"}
    assert [post(orders, record).status_code for _ in range(2)] == [202, 202]
    throttled = post(orders, record)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    other = make_connector("ingest_endpoint", "Other", [])
    other.token = other.rotate_token()
    assert post(other, record).status_code == 202
