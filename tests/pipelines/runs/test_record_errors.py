"""Rejected records are kept as they were sent, whatever JSON they hold, on every database."""

from __future__ import annotations

import pytest

from connectors.prepared import POSTGRES_COPY_FROM
from pipelines.runs.models import RecordError, Run
from tests.helpers import make_connector, make_pipeline

# What senders put in records the schema refuses: each must come back as it went in (a NUL as
# U+FFFD, which jsonb cannot hold), however many are kept at once.
SENT = [
    (
        {"order_id": "x", "name": "Ada\u0000 Lovelace"},
        {"order_id": "x", "name": "Ada\ufffd Lovelace"},
    ),
    ({"big": 2**70, "small": -(2**65)}, {"big": 2**70, "small": -(2**65)}),
    (
        {"nested": {"deep": [1, 2.5, None, True, "東京 🚚"]}},
        {"nested": {"deep": [1, 2.5, None, True, "東京 🚚"]}},
    ),
    ("just a string", "just a string"),
    ([1, "two"], [1, "two"]),
    ({"quote": 'he said "no" \\u0000 back\\slash'}, {"quote": 'he said "no" \\u0000 back\\slash'}),
    (None, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("copies", [1, POSTGRES_COPY_FROM])
def test_rejected_records_are_kept_as_sent(copies):
    source = make_connector("ingest_endpoint", "Orders")
    pipeline = make_pipeline(source, make_connector("mailbox", "Box"))
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)
    rejected = [
        (n, sent, [{"field": "order_id", "error": f"bad\u0000 {n}"}])
        for n, (sent, _) in enumerate(SENT * copies)
    ]

    RecordError.keep(run, rejected[:3])
    RecordError.keep(run, rejected[3:], pipeline=pipeline)

    kept = list(RecordError.objects.filter(run=run).order_by("index"))
    assert [(e.index, e.record) for e in kept] == [
        (n, stored) for n, (_, stored) in enumerate(SENT * copies)
    ]
    assert [e.errors for e in kept] == [
        [{"field": "order_id", "error": f"bad\ufffd {n}"}] for n in range(len(rejected))
    ]
    assert [e.pipeline_id for e in kept] == [None] * 3 + [pipeline.pk] * (len(rejected) - 3)
    assert {e.status for e in kept} == {RecordError.Status.OPEN}
    assert all(e.created_at for e in kept)
    # A record of JSON null is kept as SQL NULL, as the field writes it.
    assert RecordError.objects.filter(run=run, record__isnull=True).count() == copies
