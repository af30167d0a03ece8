"""The pipeline editor: create, map field by field, preview without storing anything."""

from __future__ import annotations

import json

from pipelines.mapping.models import Mapping, Pipeline
from pipelines.runs.models import Run
from tests.helpers import make_connector, make_pipeline


def mapping_post(pipeline, rows: dict[str, dict], **extra) -> dict:
    """The editor's form as the browser posts it: every destination field, auto unless given."""
    data = {"name": pipeline.name, "enabled": "on", **extra}
    for i, field in enumerate(pipeline.destination.schema.fields.all()):
        row = {"mode": "auto", **rows.get(field.name, {})}
        data[f"m-{i}-target"] = field.name
        for key, value in row.items():
            data[f"m-{i}-{key}"] = value
    return data


def test_it_creates_a_pipeline_then_opens_the_mapping(staff, orders, outbox):
    response = staff.post(
        "/pipelines/new/",
        {"name": "Orders out", "source": orders.pk, "destination": outbox.pk, "enabled": "on"},
    )
    pipeline = Pipeline.objects.get(name="Orders out")
    assert response["Location"] == f"/pipelines/{pipeline.pk}/"


def test_it_refuses_a_destination_as_source(staff, outbox):
    response = staff.post(
        "/pipelines/new/", {"name": "P", "source": outbox.pk, "destination": outbox.pk}
    )
    assert "source" in response.context["form"].errors
    assert not Pipeline.objects.exists()


def test_it_suggests_near_matches_and_keeps_same_names_on_auto(staff, db):
    source = make_connector("ingest_endpoint", "S", [{"name": "Email"}, {"name": "id"}])
    destination = make_connector("mailbox", "D", [{"name": "email"}, {"name": "id"}])
    pipeline = make_pipeline(source, destination)
    rows = staff.get(f"/pipelines/{pipeline.pk}/").context["form"].rows
    assert [(r["target"], r["mode"], r["source"]) for r in rows] == [
        ("email", "source", "Email"),
        ("id", "auto", ""),
    ]


def test_it_saves_the_mapping_table(staff, orders_to_outbox):
    pipeline = orders_to_outbox
    post = mapping_post(
        pipeline,
        {
            "id": {"mode": "source", "source": "order_id"},
            "email": {"mode": "source", "source": "email", "transforms": "trim | lower"},
            "total": {"mode": "value", "value": "9.5"},
        },
        action="save",
    )
    response = staff.post(f"/pipelines/{pipeline.pk}/", post)
    assert response.status_code == 302
    assert [m.as_dict() for m in Mapping.objects.filter(pipeline=pipeline)] == [
        {"target": "id", "source": "order_id", "transforms": []},
        {"target": "email", "source": "email", "transforms": ["trim", "lower"]},
        {"target": "total", "value": "9.5", "transforms": []},
    ]


def test_it_shows_a_mapping_error_on_its_row(staff, orders_to_outbox):
    post = mapping_post(
        orders_to_outbox,
        {"email": {"mode": "source", "source": "email", "transforms": "shout"}},
        action="save",
    )
    response = staff.post(f"/pipelines/{orders_to_outbox.pk}/", post)
    rows = {r["target"]: r for r in response.context["form"].rows}
    assert response.status_code == 200
    assert "unknown transform 'shout'" in rows["email"]["errors"][0]
    assert orders_to_outbox.mappings.count() == 2


def test_it_previews_the_edited_mapping_without_saving_it(staff, orders_to_outbox):
    post = mapping_post(
        orders_to_outbox,
        {
            "id": {"mode": "source", "source": "order_id"},
            "email": {"mode": "template", "template": "{{ email }}", "transforms": "upper"},
        },
        action="preview",
        sample=json.dumps(
            [
                {"order_id": 1, "email": "ada@example.com"},
                {"order_id": "x", "email": "b@example.com"},
            ]
        ),
    )
    response = staff.post(f"/pipelines/{orders_to_outbox.pk}/", post, HTTP_X_REQUESTED_WITH="fetch")
    preview = response.context["preview"]
    assert response.templates[0].name == "pipelines/_preview.html"
    assert json.loads(preview["rows"][0]["output"]) == {"id": 1, "email": "ADA@EXAMPLE.COM"}
    assert preview["rows"][1]["errors"][0]["field"] == "id"
    assert orders_to_outbox.mappings.count() == 2
    assert not orders_to_outbox.mappings.filter(template__contains="email").exists()
    assert not Run.objects.exists()


def test_it_previews_the_exact_requests_with_secrets_masked(staff, orders):
    destination = make_connector(
        "http_destination",
        "API",
        [{"name": "order_id", "type": "integer"}],
        url="https://api.example.com/orders/{{ order_id }}",
        method="PUT",
    )
    destination.replace_headers(
        [{"name": "Authorization", "value": "Bearer header-secret-1", "secret": True}]
    )
    pipeline = make_pipeline(orders, destination, name="To API")
    post = mapping_post(
        pipeline, {}, action="preview", sample='{"order_id": 5, "email": "a@example.com"}'
    )
    response = staff.post(f"/pipelines/{pipeline.pk}/", post)
    request = response.context["preview"]["requests"][0]
    assert (request["method"], request["url"]) == ("PUT", "https://api.example.com/orders/5")
    assert request["headers"]["Authorization"] == "********"
    assert "header-secret-1" not in response.content.decode()


def test_it_says_when_the_sample_is_not_json(staff, orders_to_outbox):
    post = mapping_post(orders_to_outbox, {}, action="preview", sample="{oops")
    response = staff.post(f"/pipelines/{orders_to_outbox.pk}/", post, HTTP_X_REQUESTED_WITH="fetch")
    assert response.context["preview"]["error"].startswith("The sample is not valid JSON")


def test_it_deletes_a_pipeline(staff, orders_to_outbox):
    staff.post(f"/pipelines/{orders_to_outbox.pk}/delete/")
    assert not Pipeline.objects.exists()


def test_it_shows_a_request_that_cannot_be_built(staff, orders):
    destination = make_connector(
        "http_destination",
        "API",
        [{"name": "order_id", "type": "integer"}],
        url="https://api.example.com/orders/{{ order_id }}",
        method="PUT",
    )
    pipeline = make_pipeline(orders, destination, name="To API")
    post = mapping_post(pipeline, {}, action="preview", sample='{"email": "a@example.com"}')
    response = staff.post(f"/pipelines/{pipeline.pk}/", post, HTTP_X_REQUESTED_WITH="fetch")
    assert "This request cannot be built: the URL cannot be rendered" in response.content.decode()
