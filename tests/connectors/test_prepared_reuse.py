"""Lookups that reuse instances (PreparedQuery(reuse=True)) are never stale and never shared.

The ingest lane looks its endpoint and pipelines up on every request and copies the instances
it built last time when the rows are unchanged: an edit made any way (even a queryset
`update()`, which bumps no timestamp) must show on the next request, and what one request
loads or changes on its instance must not reach the next.
"""

from __future__ import annotations

from connectors.endpoint_auth import FIND_ENDPOINT
from connectors.models import Connector
from pipelines.mapping.models import Pipeline
from pipelines.runs.batches import ENABLED_PIPELINES
from tests.helpers import make_connector, make_pipeline

INGEST = Connector.Kind.INGEST_ENDPOINT


def find(connector) -> Connector:
    return FIND_ENDPOINT(connector.slug, INGEST)[0]


def test_an_edit_without_a_timestamp_shows_on_the_next_lookup(db):
    connector = make_connector("ingest_endpoint", "Orders")
    assert find(connector).enabled
    Connector.objects.filter(pk=connector.pk).update(enabled=False, token_hash="0" * 64)
    again = find(connector)
    assert not again.enabled
    assert again.token_hash == "0" * 64


def test_each_lookup_gets_its_own_instances(db):
    connector = make_connector("ingest_endpoint", "Orders")
    find(connector)  # built; the next ones reuse it
    first, second = find(connector), find(connector)
    assert first is not second and first.schema is not second.schema
    first.throttle_rate = "1/s"
    first.schema.updated_at = None
    assert find(connector).throttle_rate == ""
    assert find(connector).schema.updated_at is not None


def test_a_deferred_field_loads_on_the_copy_only(db):
    connector = make_connector("ingest_endpoint", "Orders", description="before")
    find(connector)  # built; the next ones reuse it
    assert find(connector).description == "before"  # deferred: loaded by its own query
    Connector.objects.filter(pk=connector.pk).update(description="after")
    assert find(connector).description == "after"


def test_pipelines_added_or_disabled_show_at_once(db):
    source = make_connector("ingest_endpoint", "Orders")
    box = make_connector("mailbox", "Box")
    first = make_pipeline(source, box)
    assert [p.pk for p in ENABLED_PIPELINES(source.pk)] == [first.pk]
    second = make_pipeline(source, box, name="Second")
    assert sorted(p.pk for p in ENABLED_PIPELINES(source.pk)) == [first.pk, second.pk]
    Pipeline.objects.filter(pk=first.pk).update(enabled=False)
    assert [p.pk for p in ENABLED_PIPELINES(source.pk)] == [second.pk]


def test_a_pipeline_read_twice_is_two_instances_with_their_own_destination(db):
    source = make_connector("ingest_endpoint", "Orders")
    make_pipeline(source, make_connector("mailbox", "Box"))
    ENABLED_PIPELINES(source.pk)  # built; the next ones reuse it
    (first,), (second,) = ENABLED_PIPELINES(source.pk), ENABLED_PIPELINES(source.pk)
    assert first is not second
    assert first.destination is not second.destination
    first.broken_reason = "changed in memory only"
    assert ENABLED_PIPELINES(source.pk)[0].broken_reason == ""
