"""An INSERT written once stores what `save()` stores, and gives the instance its key; many
rows at once (multi-row INSERTs, or COPY into PostgreSQL) too."""

import pytest
from django.forms.models import model_to_dict

from connectors.prepared import POSTGRES_COPY_FROM, PreparedInsert
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


# Text that COPY's and SQL's quoting must carry unchanged.
AWKWARD = "tab\there, line\nbreak, back\\slash, quote ' and \", \\N, naïve 東京 🚚"


@pytest.mark.parametrize("count", [1, POSTGRES_COPY_FROM - 1, POSTGRES_COPY_FROM, 1200])
def test_many_stores_each_row_save_would_store_and_gives_each_its_key(db, count):
    # Across the switch to COPY on PostgreSQL (and past SQLite's parameters per statement).
    source = make_connector("ingest_endpoint", "Orders")
    before = Run(source=source, trigger=Run.Trigger.INGEST)
    before.save()
    runs = [
        Run(
            source=source,
            trigger=Run.Trigger.INGEST,
            received=n,
            error=f"{AWKWARD} {n}",
            detail={"note": AWKWARD, "n": n},
        )
        for n in range(count)
    ]

    assert INSERT.many(runs) is runs

    assert all(not run._state.adding for run in runs)
    assert len({run.pk for run in runs}) == count and before.pk not in {run.pk for run in runs}
    stored = {run.pk: run for run in Run.objects.filter(source=source).exclude(pk=before.pk)}
    # Each instance's key is the row holding its own values.
    assert {pk: (s.received, s.error, s.detail) for pk, s in stored.items()} == {
        run.pk: (run.received, f"{AWKWARD} {run.received}", {"note": AWKWARD, "n": run.received})
        for run in runs
    }
    assert [stored[run.pk].started_at for run in runs] == [run.started_at for run in runs]
    # The keys came from the table's own sequence: the next save() does not collide.
    after = Run(source=source, trigger=Run.Trigger.INGEST)
    after.save()
    assert after.pk > max(stored)


def test_many_of_nothing_runs_no_statement(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert INSERT.many([]) == []
