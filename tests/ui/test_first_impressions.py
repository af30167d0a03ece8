"""What a new user reads first: times, wording, kind names, mailbox records, a new pipeline that
could only reject records."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from mailbox.models import ConsumerCursor, append_records
from pipelines.mapping.models import Pipeline
from pipelines.runs.models import Run
from tests.helpers import make_connector
from tests.ui.test_pipeline_editor import mapping_post


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_it_says_just_now_for_what_happened_under_a_minute_ago(staff, orders):
    Run.objects.create(source=orders, trigger="ingest", status="succeeded")
    Run.objects.create(
        source=orders,
        trigger="ingest",
        status="succeeded",
        started_at=timezone.now() - timedelta(minutes=5, seconds=3),
    )
    page = text(staff.get("/runs/").content.decode())
    assert "just now" in page
    assert "5 minutes ago" in page
    assert "0 minutes" not in page


def test_it_says_what_a_mailbox_schema_is_about(staff):
    page = text(staff.get("/connectors/new/mailbox/").content.decode())
    assert "the records it receives and holds for your system" in page
    assert "the records you send" not in page
    source_page = text(staff.get("/connectors/new/ingest_endpoint/").content.decode())
    assert "the records it receives" in source_page


def test_it_names_the_kind_once_at_the_top_of_a_connector_page(staff, orders):
    html = staff.get(f"/connectors/{orders.pk}/").content.decode()
    head = text(html[html.index('<div class="page-head">') : html.index('<div class="card">')])
    assert head.count("Ingest endpoint") == 1


def test_it_says_who_calls_whom_once_on_the_connector_form(staff):
    html = staff.get("/connectors/new/mailbox/").content.decode()
    head = html[html.index("<main") : html.index('<form method="post" novalidate>')]
    assert text(head).count("Your system") == 1


def test_it_writes_kind_names_the_same_everywhere(staff):
    for n in range(2):
        make_connector("mailbox", f"Outbox {n}")
    make_connector("http_source", "API", url="https://api.example.com/x", method="GET")
    page = text(staff.get("/").content.decode())
    assert "2 Mailboxes" in page
    assert "1 HTTP source " in page
    assert "0 Ingest endpoints" in page and "0 HTTP destinations" in page
    assert "Mailboxs" not in page


def test_it_gives_the_description_a_prose_box(staff):
    html = staff.get("/connectors/new/ingest_endpoint/").content.decode()
    box = re.search(r"<textarea[^>]*id=\"id_description\"[^>]*>", html).group(0)
    assert 'class="prose"' in box


def test_it_sets_acknowledged_mailbox_records_apart_from_waiting_ones(staff, outbox):
    append_records(outbox, ['{"id": 1}', '{"id": 2}', '{"id": 3}'])
    ConsumerCursor.commit(outbox, "billing", 2)
    html = staff.get(f"/connectors/{outbox.pk}/").content.decode()
    records = {
        seq: classes
        for classes, seq in re.findall(r'class="mailbox-record([^"]*)" data-seq="(\d+)"', html)
    }
    assert records == {"3": "", "2": " is-acknowledged", "1": " is-acknowledged"}
    assert text(html).count("acknowledged") >= 2 and "waiting" in text(html)


def test_it_starts_a_new_pipeline_paused_while_a_required_field_is_unmapped(staff, orders, outbox):
    # The outbox requires `id`; the orders have `order_id`, which auto-mapping does not take.
    response = staff.post(
        "/pipelines/new/",
        {"name": "Orders out", "source": orders.pk, "destination": outbox.pk, "enabled": "on"},
        follow=True,
    )
    pipeline = Pipeline.objects.get(name="Orders out")
    assert pipeline.enabled is False
    page = text(response.content.decode())
    assert "paused until its required fields are mapped" in page
    assert "with no value yet: id ." in page

    staff.post(
        f"/pipelines/{pipeline.pk}/",
        mapping_post(pipeline, {"id": {"mode": "source", "source": "order_id"}}, action="save"),
    )
    page = text(staff.get(f"/pipelines/{pipeline.pk}/").content.decode())
    assert "with no value yet" not in page
    assert Pipeline.objects.get(pk=pipeline.pk).enabled is True


def test_it_starts_a_new_pipeline_enabled_when_every_required_field_has_a_source(staff, orders):
    same_names = make_connector(
        "mailbox", "Same names", [{"name": "order_id", "type": "integer", "required": True}]
    )
    staff.post(
        "/pipelines/new/",
        {"name": "Orders", "source": orders.pk, "destination": same_names.pk, "enabled": "on"},
    )
    assert Pipeline.objects.get(name="Orders").enabled is True
