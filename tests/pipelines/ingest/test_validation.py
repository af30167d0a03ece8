from __future__ import annotations

from pipelines.runs.models import RecordError, Run
from tests.helpers import make_connector


def test_it_accepts_the_good_records_and_reports_the_bad_ones_exactly(orders, post):
    records = [
        {"order_id": "42", "email": "a@example.com", "amount": "3.5", "paid": "yes"},
        {"order_id": "abc", "email": "not-an-email"},
        {"order_id": 1.5, "email": "b@example.com"},
        {"email": "c@example.com"},
        {"order_id": 7, "email": "d@example.com", "customer": {"name": "Ada"}},
    ]
    response = post(orders, records)
    assert response.status_code == 202
    body = response.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (5, 2, 3)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "order_id"),
        (1, "email"),
        (2, "order_id"),
        (3, "order_id"),
    ]
    assert all(e["message"] for e in body["errors"])


def test_it_keeps_rejected_records_whole_with_the_run(orders, post):
    bad = {"order_id": "abc", "email": "a@example.com", "note": "keep me"}
    run_id = post(orders, [bad]).json()["run"]
    stored = RecordError.objects.get(run_id=run_id)
    assert stored.record == bad and stored.index == 0 and stored.pipeline is None
    assert stored.errors[0]["field"] == "order_id"
    assert Run.objects.get(pk=run_id).status == "failed"


def test_all_or_nothing_refuses_the_whole_batch_and_stores_nothing(db, post):
    connector = make_connector(
        "ingest_endpoint",
        "Strict",
        [{"name": "n", "type": "integer", "required": True}],
        all_or_nothing=True,
    )
    connector.token = connector.rotate_token()
    response = post(connector, [{"n": 1}, {"n": "x"}])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"index": 1, "field": "n", "message": response.json()["errors"][0]["message"]}
    ]
    assert Run.objects.count() == 0 and RecordError.objects.count() == 0
    assert post(connector, [{"n": 1}, {"n": "2"}]).status_code == 202


def test_it_caps_the_errors_in_the_response_but_keeps_them_all(orders, post):
    records = [{"order_id": "x", "email": "a@example.com"} for _ in range(150)]
    body = post(orders, records).json()
    assert len(body["errors"]) == 100 and body["error_count"] == 150
    assert RecordError.objects.filter(run_id=body["run"]).count() == 150
