"""The ingest endpoint and mailbox pages: URL, token once, curl, sample records, backlog."""

from __future__ import annotations

import json

from django.db import transaction

from mailbox.models import append_records
from pipelines.runs.models import RecordError, Run


def test_it_shows_the_token_once_after_creating_an_ingest_endpoint(staff):
    response = staff.post(
        "/connectors/new/ingest_endpoint/",
        {"name": "Orders", "schema_json": '{"fields": [{"name": "email", "type": "email"}]}'},
        follow=True,
    )
    token = response.context["token"]
    assert token.startswith("sc_")
    assert token in response.content.decode()
    assert f"Authorization: Bearer {token}" in response.context["curl_json"]
    connector = response.context["connector"]
    assert connector.check_token(token)
    again = staff.get(f"/connectors/{connector.pk}/")
    assert token not in again.content.decode()
    assert "$TOKEN" in again.context["curl_json"]


def test_it_rotates_the_token(staff, orders):
    old = orders.rotate_token()
    response = staff.post(f"/connectors/{orders.pk}/rotate-token/", follow=True)
    new = response.context["token"]
    orders.refresh_from_db()
    assert new != old
    assert orders.check_token(new) and not orders.check_token(old)


def test_it_builds_the_curl_example_from_the_schema(staff, orders):
    response = staff.get(f"/connectors/{orders.pk}/")
    assert f"http://testserver/api/v1/ingest/{orders.slug}/" in response.context["curl_json"]
    assert json.loads(response.context["sample_json"]) == {
        "order_id": 42,
        "email": "ada@example.com",
        "amount": 19.99,
    }


def test_it_posts_a_sample_record_through_the_ingest_code(staff, orders, orders_to_outbox, outbox):
    response = staff.post(
        f"/connectors/{orders.pk}/sample/",
        {"record": json.dumps([{"order_id": 7, "email": "ada@example.com"}, {"order_id": "x"}])},
    )
    result = response.context["sample_result"]
    assert (result["received"], result["accepted"], result["rejected"]) == (2, 1, 1)
    run = Run.objects.get(pk=result["run"])
    assert run.trigger == "ingest"
    assert RecordError.objects.get(run=run).index == 1
    assert outbox.mailbox_records.count() == 1
    assert "Record 2, <strong>order_id</strong>" in response.content.decode()


def test_it_shows_a_sample_that_is_not_json_next_to_the_field(staff, orders):
    response = staff.post(f"/connectors/{orders.pk}/sample/", {"record": "{nope"})
    assert response.context["sample_form"].errors["record"] == [
        "The record is not valid JSON (line 1, column 2)."
    ]
    assert not Run.objects.exists()


def test_it_shows_the_mailbox_backlog_and_latest_records(staff, outbox):
    with transaction.atomic():
        append_records(
            outbox, ['{"id": 1, "email": "a@example.com"}', '{"id": 2, "email": "b@example.com"}']
        )
    response = staff.get(f"/connectors/{outbox.pk}/")
    assert response.context["backlog"] == 2
    assert [r["seq"] for r in response.context["latest"]] == [2, 1]
    assert f"/api/v1/mailbox/{outbox.slug}/?limit=100" in response.context["curl_poll"]
    assert "ack/" in response.context["curl_ack"]


def test_it_infers_fields_from_a_json_sample(staff):
    response = staff.post(
        "/connectors/infer-schema/",
        {"sample": '{"email": "ada@example.com", "total": 12.5, "customer": {"name": "Ada"}}'},
    )
    assert response.json() == {
        "fields": [
            {"name": "email", "type": "email", "required": True},
            {"name": "total", "type": "number", "required": True},
            {"name": "customer.name", "type": "string", "required": True},
        ],
        "records": 1,
    }


def test_it_infers_fields_from_csv_text(staff):
    response = staff.post(
        "/connectors/infer-schema/", {"sample": "id,email\n1,ada@example.com\n2,\n"}
    )
    assert response.json()["fields"] == [
        {"name": "id", "type": "integer", "required": True},
        {"name": "email", "type": "email", "required": False},
    ]


def test_it_says_why_a_sample_cannot_be_read(staff):
    response = staff.post("/connectors/infer-schema/", {"sample": "[1, 2"})
    assert response.status_code == 400
    assert "error" in response.json()
