"""Configuration changes under a running data path: a schema edit that would break a pipeline is
refused with the pipelines and mappings it would break, and whatever is accepted leaves the next
ingest request a 202 with every record findable (a mailbox row or a kept rejected record)."""

from __future__ import annotations

import orjson
import pytest

from mailbox.models import MailboxRecord
from pipelines.runs.models import RecordError
from tests.helpers import make_connector, make_pipeline

CRM_FIELDS = [
    {"name": "customer.email", "type": "email", "required": True},
    {"name": "order", "type": "integer"},
    {"name": "tier", "type": "string"},
]
RECORD = {"order_id": 7, "email": "ada@example.com", "customer": {"name": "Ada"}}


@pytest.fixture
def crm(orders):
    """Orders -> a CRM mailbox, through a mapping that reads and fills named fields."""
    box = make_connector("mailbox", "CRM", CRM_FIELDS)
    pipeline = make_pipeline(
        orders,
        box,
        [
            {"target": "customer.email", "source": "email"},
            {"target": "order", "source": "order_id"},
            {"target": "tier", "value": "gold"},
        ],
        name="Orders to CRM",
    )
    return box, pipeline


def mailbox_data(box):
    rows = MailboxRecord.objects.filter(mailbox=box).order_by("seq")
    return [orjson.loads(r.data) for r in rows]


def put_schema(api, connector, fields):
    return api.patch(
        f"/api/v1/connectors/{connector.pk}/", {"schema": {"fields": fields}}, format="json"
    )


def without(fields, name):
    return [f for f in fields if f["name"] != name]


def field_names(connector):
    return [f.name for f in connector.schema.fields.all()]


def assert_still_flows(post, orders, box):
    response = post(orders, RECORD)
    assert response.status_code == 202
    assert mailbox_data(box)[-1]["customer"]["email"] == "ada@example.com"


def test_removing_a_mapped_destination_field_is_refused_naming_the_pipeline(api, orders, post, crm):
    box, _ = crm
    response = put_schema(api, box, without(CRM_FIELDS, "order"))
    assert response.status_code == 400
    assert response.json() == {
        "schema": [
            "Field 'order' is mapped by pipeline 'Orders to CRM' (mapping 'order <- order_id'); "
            "change the mapping first."
        ]
    }
    assert "order" in field_names(box)
    assert_still_flows(post, orders, box)


def test_renaming_a_mapped_destination_field_is_refused(api, orders, post, crm):
    box, _ = crm
    renamed = [{**f, "name": "contact"} if f["name"] == "customer.email" else f for f in CRM_FIELDS]
    response = put_schema(api, box, renamed)
    assert response.status_code == 400
    assert "mapping 'customer.email <- email'" in response.json()["schema"][0]
    assert_still_flows(post, orders, box)


def test_removing_a_source_field_a_mapping_reads_is_refused(api, orders, post, crm):
    from tests.pipelines.conftest import ORDER_FIELDS

    response = put_schema(api, orders, without(ORDER_FIELDS, "email"))
    assert response.status_code == 400
    assert response.json()["schema"] == [
        "Field 'email' is mapped by pipeline 'Orders to CRM' (mapping 'customer.email <- email'); "
        "change the mapping first."
    ]
    assert "email" in field_names(orders)
    assert_still_flows(post, orders, crm[0])


def test_renaming_a_source_field_a_mapping_reads_is_refused(api, orders, post, crm):
    from tests.pipelines.conftest import ORDER_FIELDS

    renamed = [{**f, "name": "number"} if f["name"] == "order_id" else f for f in ORDER_FIELDS]
    response = put_schema(api, orders, renamed)
    assert response.status_code == 400
    assert "Field 'order_id' is mapped by pipeline 'Orders to CRM'" in response.json()["schema"][0]
    assert_still_flows(post, orders, crm[0])


def test_removing_a_source_field_a_template_reads_is_refused(api, orders, post):
    from tests.pipelines.conftest import ORDER_FIELDS

    box = make_connector("mailbox", "Names", [{"name": "who", "required": True}])
    make_pipeline(orders, box, [{"target": "who", "template": "{{ customer.name }}"}], name="Names")
    response = put_schema(api, orders, without(ORDER_FIELDS, "customer.name"))
    assert response.status_code == 400
    assert response.json()["schema"] == [
        "Field 'customer.name' is mapped by pipeline 'Names' "
        "(mapping 'who <- {{ customer.name }}'); change the mapping first."
    ]
    assert post(orders, RECORD).status_code == 202
    assert mailbox_data(box) == [{"who": "Ada"}]


def test_a_template_over_a_field_the_source_never_had_keeps_the_records(orders, post):
    # Accepted when saved (a record may carry fields beyond its schema); a record that then
    # leaves a required field empty is rejected by that pipeline and kept, never a 500.
    box = make_connector("mailbox", "Names", [{"name": "who", "required": True}])
    pipeline = make_pipeline(orders, box, [{"target": "who", "template": "{{ nickname }}"}])
    response = post(orders, RECORD)
    assert response.status_code == 202
    kept = RecordError.objects.get(pipeline=pipeline, run_id=response.json()["run"])
    assert kept.record["order_id"] == 7
    assert kept.errors[0]["field"] == "who"


def test_removing_a_source_field_that_fills_a_required_field_by_name_is_refused(api, orders, post):
    from tests.pipelines.conftest import ORDER_FIELDS

    box = make_connector(
        "mailbox", "Emails", [{"name": "email", "type": "email", "required": True}]
    )
    make_pipeline(orders, box, name="Emails")
    response = put_schema(api, orders, without(ORDER_FIELDS, "email"))
    assert response.status_code == 400
    assert response.json()["schema"] == [
        "Field 'email' is mapped by pipeline 'Emails' (auto-mapped to its required field "
        "'email'); change the mapping first."
    ]
    assert post(orders, RECORD).status_code == 202
    assert mailbox_data(box) == [{"email": "ada@example.com"}]


def test_a_destination_type_the_mapped_constant_cannot_take_is_refused(api, orders, post, crm):
    box, _ = crm
    retyped = [{**f, "type": "integer"} if f["name"] == "tier" else f for f in CRM_FIELDS]
    response = put_schema(api, box, retyped)
    assert response.status_code == 400
    assert response.json()["schema"] == [
        "Field 'tier' cannot become integer: the constant of pipeline 'Orders to CRM' "
        "(mapping 'tier <- 'gold'') is not one; change the mapping first."
    ]
    assert_still_flows(post, orders, box)


def test_a_source_type_change_is_accepted_and_records_that_no_longer_fit_are_kept(
    api, orders, post, crm
):
    from tests.pipelines.conftest import ORDER_FIELDS

    box, pipeline = crm
    retyped = [{**f, "type": "string"} if f["name"] == "order_id" else f for f in ORDER_FIELDS]
    assert put_schema(api, orders, retyped).status_code == 200

    response = post(orders, [RECORD, {**RECORD, "order_id": "A-12"}])

    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert [r["order"] for r in mailbox_data(box)] == [7]
    kept = RecordError.objects.get(pipeline=pipeline, run_id=response.json()["run"])
    assert (kept.index, kept.record["order_id"], kept.errors[0]["field"]) == (1, "A-12", "order")


def test_a_new_required_destination_field_is_accepted_and_records_are_kept(api, orders, post, crm):
    # Nothing maps it yet, so every record is rejected by the pipeline: kept to be resent.
    box, pipeline = crm
    grown = [*CRM_FIELDS, {"name": "region", "required": True}]
    assert put_schema(api, box, grown).status_code == 200
    response = post(orders, RECORD)
    assert response.status_code == 202
    kept = RecordError.objects.get(pipeline=pipeline, run_id=response.json()["run"])
    assert kept.errors == [{"field": "region", "message": "This field is required."}]


def test_edits_that_touch_no_mapped_field_are_accepted(api, orders, crm):
    box, _ = crm
    grown = [*CRM_FIELDS, {"name": "note"}]
    assert put_schema(api, box, grown).status_code == 200
    assert put_schema(api, box, CRM_FIELDS).status_code == 200


def test_every_broken_pipeline_is_named(api, orders, crm):
    box, _ = crm
    other = make_connector("ingest_endpoint", "Returns", [{"name": "id", "type": "integer"}])
    make_pipeline(other, box, [{"target": "order", "source": "id"}], name="Returns to CRM")
    response = put_schema(api, box, without(CRM_FIELDS, "order"))
    assert response.status_code == 400
    assert [m.split(" (")[0] for m in response.json()["schema"]] == [
        "Field 'order' is mapped by pipeline 'Orders to CRM'",
        "Field 'order' is mapped by pipeline 'Returns to CRM'",
    ]


def test_a_mapping_edited_so_it_no_longer_compiles_is_refused(api, orders, post, crm):
    box, pipeline = crm
    response = api.patch(
        f"/api/v1/pipelines/{pipeline.pk}/",
        {"mappings": [{"target": "gone", "source": "email"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "'gone' is not a field of the destination" in response.json()["mappings"][0]
    assert_still_flows(post, orders, box)


def test_deleting_a_destination_deletes_its_pipelines_and_the_source_goes_on(
    api, orders, post, crm
):
    box, pipeline = crm
    assert api.delete(f"/api/v1/connectors/{box.pk}/").status_code == 204
    assert not type(pipeline).objects.filter(pk=pipeline.pk).exists()
    response = post(orders, RECORD)
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
