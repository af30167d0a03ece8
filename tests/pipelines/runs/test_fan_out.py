from __future__ import annotations

import orjson

from mailbox.models import MailboxRecord
from pipelines.runs.models import RecordError, RunStat
from tests.helpers import make_connector, make_pipeline


def mailbox_data(mailbox):
    return [
        orjson.loads(r.data) for r in MailboxRecord.objects.filter(mailbox=mailbox).order_by("seq")
    ]


def test_it_maps_accepted_records_into_every_enabled_pipeline(orders, post):
    names = make_connector(
        "mailbox",
        "Names",
        [{"name": "id", "type": "string", "required": True}, {"name": "who", "type": "string"}],
    )
    emails = make_connector(
        "mailbox", "Emails", [{"name": "email", "type": "email", "required": True}]
    )
    off = make_connector("mailbox", "Off", [{"name": "email", "type": "email"}])
    make_pipeline(
        orders,
        names,
        [
            {"target": "id", "source": "order_id"},
            {"target": "who", "template": "{{ customer.name | upper }}"},
        ],
    )
    make_pipeline(orders, emails)
    make_pipeline(orders, off, enabled=False)
    response = post(
        orders, [{"order_id": 1, "email": "A@Example.com", "customer": {"name": "Ada"}}]
    )
    assert response.status_code == 202
    assert mailbox_data(names) == [{"id": "1", "who": "ADA"}]
    assert mailbox_data(emails) == [{"email": "A@Example.com"}]
    assert mailbox_data(off) == []
    run = response.json()["run"]
    assert RunStat.objects.filter(run_id=run).count() == 2


def test_a_record_that_fails_mapping_is_kept_and_does_not_block_the_others(orders, post):
    strict = make_connector(
        "mailbox", "Strict", [{"name": "amount", "type": "integer", "required": True}]
    )
    pipeline = make_pipeline(orders, strict)
    records = [
        {"order_id": 1, "email": "a@example.com", "amount": 3},
        {"order_id": 2, "email": "b@example.com", "amount": 2.5},
        {"order_id": 3, "email": "c@example.com"},
    ]
    run = post(orders, records).json()["run"]
    assert mailbox_data(strict) == [{"amount": 3}]
    errors = RecordError.objects.filter(run_id=run, pipeline=pipeline).order_by("index")
    assert [(e.index, e.errors[0]["field"]) for e in errors] == [(1, "amount"), (2, "amount")]
    stat = RunStat.objects.get(run_id=run, pipeline=pipeline)
    assert (stat.accepted, stat.rejected, stat.delivered) == (1, 2, 1)


def test_fields_outside_the_destination_schema_never_reach_it(orders, post):
    box = make_connector("mailbox", "Box", [{"name": "email", "type": "email"}])
    make_pipeline(orders, box)
    post(orders, [{"order_id": 1, "email": "a@example.com", "secret_note": "x"}])
    assert mailbox_data(box) == [{"email": "a@example.com"}]
