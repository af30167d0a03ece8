"""Configuration changes from the browser: a schema edit that would break a pipeline is refused
on the form, and deleting a connector first names the pipelines deleted with it."""

from __future__ import annotations

import json

from connectors.models import Connector
from pipelines.mapping.models import Pipeline
from tests.ui.conftest import CLEAN_FIELDS


def outbox_form(fields) -> dict:
    return {
        "name": "Outbox",
        "enabled": "on",
        "schema_json": json.dumps({"fields": fields}),
        "retention_days": "7",
    }


def test_the_form_refuses_removing_a_mapped_field_and_names_the_pipeline(
    staff, outbox, orders_to_outbox
):
    fields = [f for f in CLEAN_FIELDS if f["name"] != "total"]
    response = staff.post(f"/connectors/{outbox.pk}/edit/", outbox_form(fields))
    assert response.status_code == 200
    assert response.context["form"].errors["schema_json"] == [
        "Field 'total' is mapped by pipeline 'Orders to outbox' (mapping 'total <- amount'); "
        "change the mapping first."
    ]
    assert "total" in [f.name for f in outbox.schema.fields.all()]


def test_the_form_takes_an_edit_no_pipeline_minds(staff, outbox, orders_to_outbox):
    fields = [*CLEAN_FIELDS, {"name": "note"}]
    response = staff.post(f"/connectors/{outbox.pk}/edit/", outbox_form(fields))
    assert response.status_code == 302


def test_the_delete_page_names_the_pipelines_deleted_with_the_connector(
    staff, outbox, orders_to_outbox
):
    page = staff.get(f"/connectors/{outbox.pk}/delete/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="pipelines-deleted"' in html
    assert "Orders to outbox" in html
    assert "and 1 pipeline" in html
    assert Pipeline.objects.filter(pk=orders_to_outbox.pk).exists()

    assert staff.post(f"/connectors/{outbox.pk}/delete/").status_code == 302
    assert not Connector.objects.filter(pk=outbox.pk).exists()
    assert not Pipeline.objects.filter(pk=orders_to_outbox.pk).exists()


def test_the_connector_page_links_to_the_delete_page(staff, outbox):
    html = staff.get(f"/connectors/{outbox.pk}/").content.decode()
    assert f'href="/connectors/{outbox.pk}/delete/"' in html
