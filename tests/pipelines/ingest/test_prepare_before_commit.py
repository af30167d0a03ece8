"""Pipelines map and encode before the accepting transaction opens: it only writes."""

from __future__ import annotations

import orjson
import pytest

from mailbox.models import MailboxRecord
from pipelines.delivery.models import Delivery
from pipelines.ingest import receive as ingest
from pipelines.mapping.models import Pipeline
from pipelines.runs.batches import prepare, prepare_all, store_all
from pipelines.runs.models import RecordError, Run, RunStat
from tests.helpers import make_connector, make_pipeline


def test_preparing_a_batch_makes_no_query(orders, django_assert_num_queries):
    box = make_connector("mailbox", "Box", [{"name": "order_id", "type": "integer"}])
    pipeline = make_pipeline(orders, box, [{"target": "order_id", "source": "order_id"}])
    prepare(pipeline, [{"order_id": 1}])  # compiles the pipeline once, as the first request does
    with django_assert_num_queries(0):
        prepared = prepare(pipeline, [{"order_id": 2}, {"order_id": 3}])
    assert prepared.accepted == 2 and prepared.delivered == 2


def test_a_prepared_batch_stores_its_records_errors_and_counts_into_the_run(orders):
    box = make_connector("mailbox", "Box", [{"name": "n", "type": "integer", "required": True}])
    hooks = make_connector(
        "http_destination",
        "Hooks",
        [{"name": "n", "type": "integer"}],
        url="https://hooks.example.com/in",
        batch_size=2,
    )
    make_pipeline(orders, box, [{"target": "n", "source": "order_id"}])
    make_pipeline(orders, hooks, [{"target": "n", "source": "order_id"}])
    records = [{"order_id": 1}, {"order_id": None}, {"order_id": 3}]
    prepared = prepare_all(orders.pk, records, [0, 1, 2])
    run = Run.objects.create(source=orders, trigger=Run.Trigger.INGEST)
    delivered = store_all(run, prepared, new_run=True)
    assert delivered == 2  # the mailbox's; the HTTP deliveries count when they are sent
    rows = MailboxRecord.objects.filter(mailbox=box).order_by("seq")
    assert [orjson.loads(r.data) for r in rows] == [{"n": 1}, {"n": 3}]
    assert list(RecordError.objects.filter(run=run).values_list("index", flat=True)) == [1]
    stats = {s.pipeline.destination_id: s for s in RunStat.objects.filter(run=run)}
    assert (stats[box.pk].accepted, stats[box.pk].rejected, stats[box.pk].delivered) == (2, 1, 2)
    assert (stats[hooks.pk].accepted, stats[hooks.pk].delivered) == (3, 0)
    # Batches of the destination's size, their payloads encoded before the transaction.
    deliveries = Run.objects.get(pk=run.pk).deliveries.order_by("id")
    assert [d.records for d in deliveries] == [[{"n": 1}, {}], [{"n": 3}]]


@pytest.mark.django_db(transaction=True)
def test_a_pipeline_deleted_while_its_batch_was_prepared_is_left_out(orders, post, monkeypatch):
    kept = make_connector("mailbox", "Kept", [{"name": "order_id", "type": "integer"}])
    gone = make_connector("mailbox", "Gone", [{"name": "order_id", "type": "integer"}])
    make_pipeline(orders, kept)
    doomed = make_pipeline(orders, gone)
    real_prepare_all = ingest.prepare_all
    deleted = []

    def prepare_then_delete(*args, **kwargs):
        # Someone deletes a pipeline in the UI between the preparing and the storing.
        prepared = real_prepare_all(*args, **kwargs)
        if not deleted:
            deleted.append(Pipeline.objects.filter(pk=doomed.pk).delete())
        return prepared

    monkeypatch.setattr(ingest, "prepare_all", prepare_then_delete)
    response = post(orders, [{"order_id": 7, "email": "a@example.com"}])

    assert response.status_code == 202, response.content
    assert [orjson.loads(r.data) for r in MailboxRecord.objects.filter(mailbox=kept)] == [
        {"order_id": 7}
    ]
    assert not MailboxRecord.objects.filter(mailbox=gone).exists()
    assert RunStat.objects.filter(run_id=response.json()["run"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_batches_prepared_are_stored_again_without_the_deleted_pipeline(
    orders, post, monkeypatch
):
    """The retry writes what was prepared (the records are gone by then): the deliveries of
    the rolled-back attempt are inserted again, each with its payload and the new run."""
    hooks = make_connector(
        "http_destination",
        "Hooks",
        [{"name": "order_id", "type": "integer"}],
        url="https://hooks.example.com/in",
        batch_size=2,
    )
    gone = make_connector("mailbox", "Gone", [{"name": "order_id", "type": "integer"}])
    make_pipeline(orders, hooks)
    doomed = make_pipeline(orders, gone)
    real_prepare_all, real_store_all = ingest.prepare_all, ingest.store_all
    prepared_times, stored = [], []

    def prepare_then_delete(*args, **kwargs):
        prepared = real_prepare_all(*args, **kwargs)
        prepared_times.append(Pipeline.objects.filter(pk=doomed.pk).delete())
        return prepared

    def store(run, prepared, **kwargs):
        stored.append([batch.pipeline.pk for batch in prepared])
        return real_store_all(run, prepared, **kwargs)

    monkeypatch.setattr(ingest, "prepare_all", prepare_then_delete)
    monkeypatch.setattr(ingest, "store_all", store)
    response = post(orders, [{"order_id": n, "email": f"c{n}@example.com"} for n in range(3)])

    assert response.status_code == 202, response.content
    assert len(prepared_times) == 1 and len(stored) == 2 and doomed.pk not in stored[1]
    deliveries = Delivery.objects.filter(destination=hooks).order_by("id")
    assert [d.records for d in deliveries] == [
        [{"order_id": 0}, {"order_id": 1}],
        [{"order_id": 2}],
    ]
    assert {d.run_id for d in deliveries} == {response.json()["run"]}
    assert not MailboxRecord.objects.filter(mailbox=gone).exists()
