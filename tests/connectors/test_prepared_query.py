"""A queryset compiled once answers like the queryset itself, related objects included."""

from connectors.endpoint_auth import ENDPOINT_COLUMNS
from connectors.models import Connector
from connectors.prepared import PreparedQuery
from pipelines.mapping.models import Pipeline
from tests.helpers import make_connector, make_pipeline

FIND = PreparedQuery(lambda slug, kind: ENDPOINT_COLUMNS.filter(slug=slug, kind=kind))
ENABLED = PreparedQuery(lambda source_id: Pipeline.objects.enabled_for(source_id))


def test_it_finds_what_the_queryset_finds_with_new_values_each_time(db):
    orders = make_connector("ingest_endpoint", "Orders", [{"name": "id", "type": "integer"}])
    other = make_connector("ingest_endpoint", "Other")
    for connector in (orders, other):
        [found] = FIND(connector.slug, Connector.Kind.INGEST_ENDPOINT)
        expected = ENDPOINT_COLUMNS.get(slug=connector.slug, kind="ingest_endpoint")
        assert (found.pk, found.token_hash, found.schema.pk) == (
            expected.pk,
            expected.token_hash,
            expected.schema.pk,
        )
        assert found.schema.updated_at == expected.schema.updated_at
    assert FIND(orders.slug, Connector.Kind.MAILBOX) == []
    assert FIND("nowhere", Connector.Kind.INGEST_ENDPOINT) == []


def test_it_builds_related_objects_and_sees_changes(db):
    source = make_connector("ingest_endpoint", "In")
    box = make_connector("mailbox", "Box")
    first = make_pipeline(source, box, name="First")
    make_pipeline(source, box, name="Off", enabled=False)
    [pipeline] = ENABLED(source.pk)
    assert pipeline.pk == first.pk
    assert pipeline.destination.kind == "mailbox"
    assert pipeline.destination.schema.pk == box.schema.pk
    assert pipeline.source.schema.pk == source.schema.pk
    Pipeline.objects.filter(pk=first.pk).update(enabled=False)
    assert ENABLED(source.pk) == []
    assert ENABLED(box.pk) == []
