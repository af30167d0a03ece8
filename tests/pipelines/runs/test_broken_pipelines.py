"""A pipeline that cannot compile (an edit slipped past validation: the admin, a migration, a
race) never turns a sender's request into a 500 and never loses its records: the request gets
the source's own answer, the pipeline is marked as needing attention and its records are kept
as rejected records, to be resent once it is fixed."""

from __future__ import annotations

import orjson
from django.utils import timezone

from connectors.models import Schema, SchemaField
from mailbox.models import MailboxRecord
from pipelines.mapping.models import Mapping, Pipeline
from pipelines.runs.batches import resend
from pipelines.runs.models import RecordError, RunStat
from tests.helpers import make_connector, make_pipeline

RECORDS = [
    {"order_id": 1, "email": "a@example.com"},
    {"order_id": 2, "email": "b@example.com"},
]


def mailbox_data(mailbox):
    rows = MailboxRecord.objects.filter(mailbox=mailbox).order_by("seq")
    return [orjson.loads(r.data) for r in rows]


def break_behind_validation(box) -> None:
    """Remove the mapped field as a raw UPDATE would, with no check in the way."""
    SchemaField.objects.filter(schema=box.schema, name="contact").delete()
    Schema.objects.filter(pk=box.schema_id).update(updated_at=timezone.now())


def test_a_broken_pipeline_answers_202_and_keeps_its_records(orders, post):
    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    pipeline = make_pipeline(orders, box, [{"target": "contact", "source": "email"}], name="CRM")
    break_behind_validation(box)

    response = post(orders, RECORDS)

    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    pipeline.refresh_from_db()
    assert "contact" in pipeline.broken_reason
    kept = RecordError.objects.filter(run_id=response.json()["run"], pipeline=pipeline)
    assert sorted(e.record["order_id"] for e in kept) == [1, 2]
    assert all("contact" in e.errors[0]["message"] for e in kept)
    stat = RunStat.objects.get(run_id=response.json()["run"], pipeline=pipeline)
    assert (stat.accepted, stat.rejected) == (0, 2)


def test_other_pipelines_of_the_source_go_on(orders, post):
    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    make_pipeline(orders, box, [{"target": "contact", "source": "email"}])
    healthy = make_connector("mailbox", "Healthy", [{"name": "email", "type": "email"}])
    make_pipeline(orders, healthy)
    break_behind_validation(box)

    assert post(orders, RECORDS).status_code == 202
    assert mailbox_data(healthy) == [{"email": "a@example.com"}, {"email": "b@example.com"}]


def test_records_keep_being_kept_until_the_fix_and_can_then_be_resent(orders, post, api):
    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    pipeline = make_pipeline(orders, box, [{"target": "contact", "source": "email"}])
    break_behind_validation(box)
    assert post(orders, RECORDS[:1]).status_code == 202
    assert post(orders, RECORDS[1:]).status_code == 202
    assert RecordError.objects.filter(pipeline=pipeline).count() == 2

    # The fix: the destination gets its field back.
    fixed = api.patch(
        f"/api/v1/connectors/{box.pk}/",
        {"schema": {"fields": [{"name": "contact", "type": "email"}]}},
        format="json",
    )
    assert fixed.status_code == 200
    assert post(orders, [{"order_id": 3, "email": "c@example.com"}]).status_code == 202
    pipeline.refresh_from_db()
    assert pipeline.broken_reason == ""
    resend(list(RecordError.objects.filter(pipeline=pipeline)))
    assert sorted(r["contact"] for r in mailbox_data(box)) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]


def test_a_mapping_edited_in_the_database_is_caught_at_run_time(orders, post):
    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    pipeline = make_pipeline(orders, box, [{"target": "contact", "source": "email"}])
    Mapping.objects.filter(pipeline=pipeline).update(transforms=["no_such_transform"])
    Pipeline.objects.filter(pk=pipeline.pk).update(updated_at=timezone.now())

    response = post(orders, RECORDS)

    assert response.status_code == 202
    pipeline.refresh_from_db()
    assert "no_such_transform" in pipeline.broken_reason
    assert RecordError.objects.filter(pipeline=pipeline).count() == 2


def test_a_destination_that_is_not_one_is_caught_at_run_time(orders, post):
    # The admin lets a person point a pipeline at a source: there is no output for it.
    other = make_connector("ingest_endpoint", "Not a destination", [])
    pipeline = make_pipeline(orders, make_connector("mailbox", "Box", []))
    Pipeline.objects.filter(pk=pipeline.pk).update(destination=other)

    response = post(orders, RECORDS)

    assert response.status_code == 202
    pipeline.refresh_from_db()
    assert pipeline.broken_reason
    assert RecordError.objects.filter(pipeline=pipeline).count() == 2


def test_a_broken_pipeline_is_shown_on_the_dashboard_the_list_and_its_page(orders, post, client):
    from django.contrib.auth.models import User

    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    pipeline = make_pipeline(orders, box, [{"target": "contact", "source": "email"}])
    break_behind_validation(box)
    post(orders, RECORDS)
    User.objects.create_user("carol", password="carol-password", is_staff=True)
    client.login(username="carol", password="carol-password")
    for url in ("/", "/pipelines/", f"/pipelines/{pipeline.pk}/"):
        page = client.get(url).content.decode()
        assert "needs attention" in page, url
    page = client.get(f"/pipelines/{pipeline.pk}/").content.decode()
    assert "not a field of the destination" in page


def test_the_api_shows_why_and_a_saved_fix_clears_the_mark(orders, post, api):
    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    pipeline = make_pipeline(orders, box, [{"target": "contact", "source": "email"}])
    break_behind_validation(box)
    post(orders, RECORDS)

    shown = api.get(f"/api/v1/pipelines/{pipeline.pk}/").json()
    assert "contact" in shown["broken_reason"]
    preview = api.post(
        f"/api/v1/pipelines/{pipeline.pk}/preview/", {"records": RECORDS}, format="json"
    )
    assert preview.status_code == 400
    assert "contact" in preview.json()["mappings"][0]

    fixed = api.patch(f"/api/v1/pipelines/{pipeline.pk}/", {"mappings": []}, format="json")
    assert fixed.status_code == 200
    assert fixed.json()["broken_reason"] == ""


def test_a_pull_through_a_broken_pipeline_keeps_every_page(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True  # the test server listens on 127.0.0.1
    from pipelines.pull.runs import pull
    from tests.pipelines.pull.source_helpers import items, source_into_mailbox

    httpserver.expect_request("/items").respond_with_json(items(3))
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    pipeline = Pipeline.objects.get(source=source)
    SchemaField.objects.filter(schema=box.schema, name="id").delete()
    Mapping.objects.create(pipeline=pipeline, target="id", source="id")
    Pipeline.objects.filter(pk=pipeline.pk).update(updated_at=timezone.now())

    run = pull(source)

    assert (run.status, run.accepted) == ("succeeded", 3)
    pipeline.refresh_from_db()
    assert "'id' is not a field of the destination" in pipeline.broken_reason
    assert RecordError.objects.filter(run=run, pipeline=pipeline).count() == 3


def test_an_upload_through_a_broken_pipeline_keeps_every_row(orders):
    from pipelines.uploads.models import Upload
    from pipelines.uploads.processing import process_upload

    box = make_connector("mailbox", "CRM", [{"name": "contact", "type": "email"}])
    pipeline = make_pipeline(orders, box, [{"target": "contact", "source": "email"}])
    break_behind_validation(box)
    upload = Upload.objects.create(
        source=orders,
        filename="orders.csv",
        content="order_id,email\n1,a@example.com\n2,b@example.com\n",
        size_bytes=48,
    )

    assert process_upload(upload.pk) == Upload.Status.DONE

    pipeline.refresh_from_db()
    assert pipeline.broken_reason
    assert RecordError.objects.filter(pipeline=pipeline).count() == 2
