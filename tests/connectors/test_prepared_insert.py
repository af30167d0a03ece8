"""An INSERT written once stores what `save()` stores, and gives the instance its key."""

from django.forms.models import model_to_dict

from connectors.prepared import PreparedInsert
from pipelines.runs.models import Run
from tests.helpers import make_connector

INSERT = PreparedInsert(Run)


def test_it_stores_the_row_save_would_store(db):
    source = make_connector("ingest_endpoint", "Orders")
    fields = dict(
        source=source,
        trigger=Run.Trigger.INGEST,
        received=3,
        accepted=2,
        rejected=1,
        error="one 'bad' record",
        detail={"request": {"url": "https://example.com/a?b=1"}, "note": "é\u2028"},
        idempotency_key="key-1",
    )
    saved = Run(**fields)
    saved.save(force_insert=True)
    inserted = Run(**fields)
    INSERT(inserted)

    assert inserted.pk and inserted.pk != saved.pk
    assert not inserted._state.adding
    stored = {k: v for k, v in model_to_dict(Run.objects.get(pk=inserted.pk)).items() if k != "id"}
    expected = {k: v for k, v in model_to_dict(Run.objects.get(pk=saved.pk)).items() if k != "id"}
    # Defaults (status, started_at) come from the instance, as with save().
    assert stored.pop("started_at") == inserted.started_at
    expected.pop("started_at")
    assert stored == expected


def test_each_call_inserts_a_new_row(db):
    source = make_connector("ingest_endpoint", "Orders")
    runs = [Run(source=source, trigger=Run.Trigger.INGEST, received=n) for n in range(3)]
    for run in runs:
        INSERT(run)
    assert sorted(Run.objects.values_list("received", flat=True)) == [0, 1, 2]
    assert len({run.pk for run in runs}) == 3
