"""Rejected records: fixed in place and resent, one at a time or all of a run."""

from __future__ import annotations

import json

from pipelines.ingest.receive import accept_batch
from pipelines.runs.models import RecordError, Run
from tests.helpers import make_connector, make_pipeline


def ingest(connector, records) -> Run:
    return Run.objects.get(pk=accept_batch(connector, records).data["run"])


def test_it_shows_each_rejected_record_with_its_errors_in_the_grid(staff, orders, orders_to_outbox):
    run = ingest(
        orders, [{"order_id": 1, "email": "a@example.com"}, {"order_id": "x", "email": "nope"}]
    )
    response = staff.get(f"/runs/{run.pk}/")
    (row,) = response.context["grid"]
    assert response.context["columns"] == ["order_id", "email", "amount"]
    assert [(c["text"], c["bad"]) for c in row["cells"]] == [
        ("x", True),
        ("nope", True),
        ("", False),
    ]


def test_it_resends_one_fixed_record_as_a_new_run(staff, orders, orders_to_outbox, outbox):
    run = ingest(
        orders,
        [{"order_id": "x", "email": "a@example.com"}, {"order_id": "y", "email": "b@example.com"}],
    )
    first, second = RecordError.objects.filter(run=run)
    columns = json.dumps(["order_id", "email", "amount"])
    response = staff.post(
        f"/runs/{run.pk}/resend/",
        {
            "columns": columns,
            "only": first.pk,
            f"r{first.pk}-c0": "11",
            f"r{first.pk}-c1": "a@example.com",
            f"r{first.pk}-c2": "",
        },
    )
    resent = Run.objects.get(trigger=Run.Trigger.RESEND)
    assert response["Location"] == f"/runs/{resent.pk}/"
    assert (resent.received, resent.accepted, resent.rejected, resent.status) == (
        1,
        1,
        0,
        "succeeded",
    )
    assert [json.loads(r.data) for r in outbox.mailbox_records.all()] == [
        {"id": 11, "email": "a@example.com"}
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("resent", "open")


def test_it_keeps_a_record_rejected_again_as_a_new_error(staff, orders, orders_to_outbox):
    run = ingest(orders, [{"order_id": "x", "email": "a@example.com"}])
    error = RecordError.objects.get(run=run)
    staff.post(
        f"/runs/{run.pk}/resend/",
        {"columns": '["order_id"]', "all": "1", f"r{error.pk}-c0": "still bad"},
    )
    resent = Run.objects.get(trigger=Run.Trigger.RESEND)
    assert resent.status == "failed"
    assert RecordError.objects.get(run=resent).record == {
        "order_id": "still bad",
        "email": "a@example.com",
    }


def test_it_resends_all_rejected_records_of_a_run(staff, orders, orders_to_outbox, outbox):
    run = ingest(
        orders,
        [
            {"order_id": "1", "email": "a@example.com", "amount": "x"},
            {"order_id": 2, "email": "b@example.com", "amount": "y"},
        ],
    )
    orders.schema.replace_fields(
        [{"name": "order_id", "type": "integer"}, {"name": "email", "type": "email"}]
    )
    staff.post(f"/runs/{run.pk}/resend/", {"columns": "[]", "all": "1"})
    resent = Run.objects.get(trigger=Run.Trigger.RESEND)
    assert (resent.received, resent.accepted) == (2, 2)
    assert RecordError.objects.filter(run=run, status="resent").count() == 2


def test_it_resends_a_mapping_rejection_through_that_pipeline_only(staff, orders, outbox):
    strict = make_connector(
        "mailbox", "Strict", [{"name": "total", "type": "number", "required": True}]
    )
    make_pipeline(orders, outbox, [{"target": "id", "source": "order_id"}], name="Lenient")
    pipeline = make_pipeline(orders, strict, [], name="Strict")
    run = ingest(orders, [{"order_id": 1, "email": "a@example.com"}])
    error = RecordError.objects.get(run=run)
    assert error.pipeline == pipeline
    pipeline.replace_mappings([{"target": "total", "value": 0}])
    staff.post(f"/runs/{run.pk}/resend/", {"columns": "[]", "all": "1"})
    assert outbox.mailbox_records.count() == 1
    assert strict.mailbox_records.count() == 1


def test_a_record_named_by_something_that_is_no_id_resends_nothing(staff, orders, orders_to_outbox):
    run = ingest(orders, [{"order_id": "x", "email": "a@example.com"}])
    for only in ("abc", "²", str(2**70)):
        response = staff.post(f"/runs/{run.pk}/resend/", {"columns": "[]", "only": only})
        assert response["Location"] == f"/runs/{run.pk}/"
    assert not Run.objects.filter(trigger=Run.Trigger.RESEND).exists()
    assert RecordError.objects.get(run=run).status == "open"
