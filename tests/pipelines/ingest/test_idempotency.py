from __future__ import annotations

import threading

import pytest
from django.db import connection

from pipelines.runs.models import Run


def test_a_repeat_returns_the_first_response_and_stores_nothing_twice(orders, post):
    record = {"order_id": 1, "email": "a@example.com"}
    first = post(orders, record, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(orders, record, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert Run.objects.count() == 1


def test_the_same_key_with_another_body_is_409(orders, post):
    post(orders, {"order_id": 1, "email": "a@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    response = post(orders, {"order_id": 2, "email": "a@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409
    assert Run.objects.count() == 1


def test_keys_belong_to_one_connector(orders, post):
    from tests.helpers import make_connector

    other = make_connector("ingest_endpoint", "Other", [])
    other.token = other.rotate_token()
    post(orders, {"order_id": 1, "email": "a@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert post(other, {"x": 1}, HTTP_IDEMPOTENCY_KEY="k-1").status_code == 202
    assert Run.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_store_one_run(orders, post):
    record = {"order_id": 1, "email": "a@example.com"}
    results = []
    start = threading.Barrier(4)

    def send():
        start.wait()
        try:
            results.append(post(orders, record, HTTP_IDEMPOTENCY_KEY="same").json()["run"])
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert Run.objects.count() == 1


def test_a_key_longer_than_the_column_is_400_naming_the_limit(orders, post):
    # The column is varchar(255): PostgreSQL would refuse the INSERT (a 500), SQLite would keep it.
    response = post(
        orders, {"order_id": 1, "email": "a@example.com"}, HTTP_IDEMPOTENCY_KEY="k" * 300
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Idempotency-Key is 300 characters; at most 255."
    assert Run.objects.count() == 0


def test_a_key_of_255_characters_is_taken(orders, post):
    record = {"order_id": 1, "email": "a@example.com"}
    assert post(orders, record, HTTP_IDEMPOTENCY_KEY="k" * 255).status_code == 202
    again = post(orders, record, HTTP_IDEMPOTENCY_KEY="k" * 255)
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "   ", "k\x00ey", "k\tey", "key\x7f"])
def test_an_empty_key_or_one_with_control_characters_is_400(orders, post, key):
    response = post(orders, {"order_id": 1, "email": "a@example.com"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert Run.objects.count() == 0
