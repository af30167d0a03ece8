from __future__ import annotations

from datetime import datetime

from tests.mailbox.conftest import put


def ids(response) -> list[int]:
    return [r["id"] for r in response.json()["records"]]


def test_it_returns_waiting_records_in_order_of_arrival(outbox, poll):
    put(
        outbox, {"order_id": 1, "email": "a@example.com"}, {"order_id": 2, "email": "b@example.com"}
    )
    put(outbox, {"order_id": 3, "email": "c@example.com", "customer": {"name": "Charlie"}})

    response = poll(outbox)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    page = response.json()
    assert [r["data"] for r in page["records"]] == [
        {"order_id": 1, "email": "a@example.com"},
        {"order_id": 2, "email": "b@example.com"},
        {"order_id": 3, "email": "c@example.com", "customer": {"name": "Charlie"}},
    ]
    assert ids(response) == [1, 2, 3]
    assert page["has_more"] is False
    assert isinstance(page["next"], str) and page["next"]


def test_each_record_carries_its_arrival_time_in_utc(outbox, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})

    created_at = poll(outbox).json()["records"][0]["created_at"]

    assert created_at.endswith("Z")
    assert datetime.fromisoformat(created_at).utcoffset().total_seconds() == 0


def test_it_pages_with_limit_and_next(outbox, poll):
    put(outbox, *({"order_id": n, "email": f"{n}@example.com"} for n in range(1, 6)))

    first = poll(outbox, limit=2).json()
    second = poll(outbox, limit=2, after=first["next"]).json()
    third = poll(outbox, limit=2, after=second["next"]).json()

    assert [r["id"] for r in first["records"]] == [1, 2] and first["has_more"] is True
    assert [r["id"] for r in second["records"]] == [3, 4] and second["has_more"] is True
    assert [r["id"] for r in third["records"]] == [5] and third["has_more"] is False


def test_an_empty_page_keeps_the_position(outbox, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})
    drained = poll(outbox).json()

    empty = poll(outbox, after=drained["next"]).json()
    put(outbox, {"order_id": 2, "email": "b@example.com"})
    later = poll(outbox, after=empty["next"]).json()

    assert empty["records"] == [] and empty["has_more"] is False
    assert [r["data"]["order_id"] for r in later["records"]] == [2]


def test_an_empty_mailbox_answers_an_empty_page(outbox, poll):
    page = poll(outbox).json()

    assert page["records"] == [] and page["has_more"] is False and page["next"]


def test_the_default_page_is_100_records(outbox, poll):
    put(outbox, *({"order_id": n, "email": f"{n}@example.com"} for n in range(1, 151)))

    page = poll(outbox).json()

    assert len(page["records"]) == 100 and page["has_more"] is True


def test_it_answers_1000_records_at_most(outbox, poll):
    put(outbox, *({"order_id": n, "email": f"{n}@example.com"} for n in range(1, 1002)))

    page = poll(outbox, limit=1000).json()

    assert len(page["records"]) == 1000 and page["has_more"] is True


def test_it_refuses_a_limit_out_of_range(outbox, poll):
    for bad in ("0", "1001", "-5", "ten", ""):
        response = poll(outbox, limit=bad)
        assert response.status_code == 400, bad
        assert response.json()["param"] == "limit"
        assert "limit" in response.json()["detail"]


def test_it_repeats_only_the_start_of_a_long_bad_value(outbox, poll):
    bad = "9" * 5000
    detail = poll(outbox, limit=bad).json()["detail"]
    assert detail.endswith(f"not '{'9' * 37}...'.")
    assert len(detail) < 120


def test_it_refuses_a_wait_out_of_range(outbox, poll):
    for bad in ("31", "-1", "soon", "nan", "inf"):
        response = poll(outbox, wait=bad)
        assert response.status_code == 400, bad
        assert response.json()["param"] == "wait"


def test_it_refuses_a_malformed_consumer_name(outbox, poll):
    response = poll(outbox, consumer="a b")

    assert response.status_code == 400
    assert response.json()["param"] == "consumer"


def test_records_of_another_mailbox_never_show(outbox, poll):
    from tests.helpers import make_connector

    other = make_connector("mailbox", "Other")
    put(other, {"order_id": 99, "email": "z@example.com"})
    put(outbox, {"order_id": 1, "email": "a@example.com"})

    assert [r["data"]["order_id"] for r in poll(outbox).json()["records"]] == [1]
