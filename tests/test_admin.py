from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.helpers import make_connector, make_pipeline


@pytest.fixture
def admin_client(client, db):
    User.objects.create_superuser("root", "root@example.com", "root-password")
    client.login(username="root", password="root-password")
    return client


def test_every_model_page_loads(admin_client, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    source = make_connector("ingest_endpoint", "In", [{"name": "a"}])
    dest = make_connector("http_destination", "Out", [{"name": "a"}], url="https://x.example/")
    dest.replace_headers(
        [{"name": "Authorization", "value": "Bearer admin-needle", "secret": True}]
    )
    make_pipeline(source, dest, [{"target": "a", "source": "a"}])
    for model in (
        "connectors/connector",
        "connectors/schema",
        "pipelines/pipeline",
        "pipelines/run",
        "pipelines/delivery",
        "pipelines/recorderror",
        "mailbox/mailboxrecord",
    ):
        assert admin_client.get(f"/admin/{model}/").status_code == 200, model
    page = admin_client.get(f"/admin/connectors/connector/{dest.pk}/change/")
    assert page.status_code == 200
    assert "admin-needle" not in page.content.decode()
    assert (
        admin_client.get(
            "/admin/connectors/connector/?q=Out&kind__exact=http_destination"
        ).status_code
        == 200
    )


def inline_post(prefix: str, rows: list[dict], initial: int) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def test_the_schema_admin_refuses_removing_a_mapped_field(admin_client):
    source = make_connector("ingest_endpoint", "In", [{"name": "a"}])
    box = make_connector("mailbox", "Box", [{"name": "a"}, {"name": "b"}])
    make_pipeline(source, box, [{"target": "b", "source": "a"}], name="In to Box")
    rows = [
        {"id": f.pk, "schema": box.schema_id, "position": f.position, "name": f.name}
        | {"type": f.type, "default": "null", "description": ""}
        for f in box.schema.fields.all()
    ]
    rows[1]["DELETE"] = "on"
    response = admin_client.post(
        f"/admin/connectors/schema/{box.schema_id}/change/", inline_post("fields", rows, 2)
    )
    assert response.status_code == 200
    assert "Field &#x27;b&#x27; is mapped by pipeline &#x27;In to Box&#x27;" in (
        response.content.decode()
    )
    assert [f.name for f in box.schema.fields.all()] == ["a", "b"]


def test_the_pipeline_admin_refuses_a_mapping_that_does_not_compile(admin_client):
    source = make_connector("ingest_endpoint", "In", [{"name": "a"}])
    box = make_connector("mailbox", "Box", [{"name": "b"}])
    pipeline = make_pipeline(source, box, [{"target": "b", "source": "a"}], name="In to Box")
    mapping = pipeline.mappings.get()
    row = {"id": mapping.pk, "pipeline": pipeline.pk, "position": "0", "target": "gone"}
    row |= {"source": "a", "template": "", "value": "null", "transforms": "[]"}
    response = admin_client.post(
        f"/admin/pipelines/pipeline/{pipeline.pk}/change/",
        {
            "name": "In to Box",
            "source": source.pk,
            "destination": box.pk,
            "enabled": "on",
            **inline_post("mappings", [row], 1),
        },
    )
    assert response.status_code == 200
    assert "is not a field of the destination" in response.content.decode()
    assert pipeline.mappings.get().target == "b"
