from __future__ import annotations

import pytest

from pipelines.mapping.models import Pipeline
from tests.helpers import make_connector

CONTRACT_MAPPINGS = [
    {"target": "id", "source": "order_id"},
    {"target": "identifiers.email", "source": "Email", "transforms": ["trim", "lower"]},
    {"target": "message_data.name", "template": "{{ first_name }} {{ last_name }}"},
    {"target": "campaign_id", "value": "1234"},
    {"target": "action_id", "value": "5678"},
]


def create_pipeline(api, source, destination) -> dict:
    """A pipeline with the contract's mappings, created through the API as a client would."""
    return api.post(
        "/api/v1/pipelines/",
        {
            "name": "P",
            "source": source.pk,
            "destination": destination.pk,
            "mappings": CONTRACT_MAPPINGS,
        },
        format="json",
    ).json()


@pytest.fixture
def ends(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    source = make_connector(
        "ingest_endpoint",
        "Orders",
        [{"name": "order_id", "type": "integer"}, {"name": "Email"}, {"name": "First Name"}],
    )
    destination = make_connector(
        "http_destination",
        "Customer.io",
        [
            {"name": "id", "type": "string", "required": True},
            {"name": "campaign_id", "type": "string", "required": True},
            {"name": "action_id", "type": "string", "required": True},
            {"name": "identifiers.email", "type": "email", "required": True},
            {"name": "message_data.name"},
            {"name": "first_name"},
        ],
        url="https://api.example.com/v1/campaigns/{{ campaign_id }}/actions/{{ action_id }}/send",
        method="POST",
    )
    return source, destination


def test_it_creates_the_contract_example(api, ends):
    source, destination = ends
    payload = {
        "name": "Orders to Customer.io",
        "source": source.pk,
        "destination": destination.pk,
        "mappings": CONTRACT_MAPPINGS,
    }
    response = api.post("/api/v1/pipelines/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["enabled"] is True
    assert body["mappings"] == [{"transforms": [], **m} for m in CONTRACT_MAPPINGS]
    assert api.get(f"/api/v1/pipelines/{body['id']}/").json()["mappings"] == body["mappings"]


def test_it_refuses_a_destination_as_source_and_a_source_as_destination(api, ends):
    source, destination = ends
    response = api.post(
        "/api/v1/pipelines/",
        {"name": "Backwards", "source": destination.pk, "destination": source.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "not a source" in response.json()["source"][0]
    assert "not a destination" in response.json()["destination"][0]


@pytest.mark.parametrize(
    "mapping",
    [
        {"target": "nope", "source": "order_id"},
        {"target": "id", "source": "order_id", "transforms": ["shout"]},
        {"target": "id", "template": "{{ order_id "},
        {"target": "id"},
        {"target": "id", "source": "order_id", "value": "x"},
    ],
)
def test_it_names_the_bad_mapping(api, ends, mapping):
    source, destination = ends
    payload = {
        "name": "P",
        "source": source.pk,
        "destination": destination.pk,
        "mappings": [mapping],
    }
    response = api.post("/api/v1/pipelines/", payload, format="json")
    assert response.status_code == 400
    assert "mappings" in response.json()
    assert Pipeline.objects.count() == 0


def test_it_refuses_a_target_mapped_twice(api, ends):
    source, destination = ends
    mappings = [{"target": "id", "source": "order_id"}, {"target": "id", "value": "1"}]
    payload = {
        "name": "P",
        "source": source.pk,
        "destination": destination.pk,
        "mappings": mappings,
    }
    assert api.post("/api/v1/pipelines/", payload, format="json").status_code == 400


def test_it_replaces_mappings_on_update(api, ends):
    source, destination = ends
    created = create_pipeline(api, source, destination)
    response = api.patch(
        f"/api/v1/pipelines/{created['id']}/",
        {"mappings": [{"target": "id", "value": "7"}], "enabled": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["mappings"] == [{"target": "id", "value": "7", "transforms": []}]
    assert response.json()["enabled"] is False


def test_it_suggests_auto_mappings(api, ends):
    source, destination = ends
    created = api.post(
        "/api/v1/pipelines/",
        {"name": "P", "source": source.pk, "destination": destination.pk, "mappings": []},
        format="json",
    ).json()
    body = api.get(f"/api/v1/pipelines/{created['id']}/suggest/").json()
    assert body["suggested"]["first_name"] == "First Name"
    assert "id" not in body["suggested"]


def test_preview_maps_reports_and_changes_nothing(api, ends):
    from pipelines.delivery.models import Delivery
    from pipelines.runs.models import Run

    source, destination = ends
    created = create_pipeline(api, source, destination)
    records = [
        {"order_id": 1, "Email": " Ada@Example.com ", "first_name": "Ada", "last_name": "L"},
        {"order_id": 2, "Email": "not-an-email"},
    ]
    response = api.post(
        f"/api/v1/pipelines/{created['id']}/preview/", {"records": records}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["records"][0] == {
        "id": "1",
        "campaign_id": "1234",
        "action_id": "5678",
        "identifiers": {"email": "ada@example.com"},
        "message_data": {"name": "Ada L"},
        "first_name": "Ada",
    }
    assert body["records"][1] is None
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "identifiers.email")]
    assert Run.objects.count() == 0 and Delivery.objects.count() == 0


def test_preview_refuses_a_body_without_records(api, ends):
    source, destination = ends
    created = api.post(
        "/api/v1/pipelines/",
        {"name": "P", "source": source.pk, "destination": destination.pk},
        format="json",
    ).json()
    response = api.post(f"/api/v1/pipelines/{created['id']}/preview/", {"rows": []}, format="json")
    assert response.status_code == 400 and "records" in response.json()


def test_it_is_staff_only(anonymous, bob, ends):
    from rest_framework.test import APIClient

    assert anonymous.get("/api/v1/pipelines/").status_code == 401
    client = APIClient()
    client.force_authenticate(bob)
    assert client.get("/api/v1/pipelines/").status_code == 403
    assert client.get("/api/v1/runs/").status_code == 403
    assert client.get("/api/v1/deliveries/").status_code == 403


def test_preview_shows_a_request_that_cannot_be_rendered(api, ends):
    source, destination = ends
    created = create_pipeline(api, source, destination)
    destination.url = "https://api.example.com/v1/{{ first_name }}/send"
    destination.save()
    records = [{"order_id": 1, "Email": "a@example.com"}]
    response = api.post(
        f"/api/v1/pipelines/{created['id']}/preview/", {"records": records}, format="json"
    )
    assert response.status_code == 200
    assert "first_name" in response.json()["requests"][0]["error"]


def test_preview_shows_the_exact_request_with_secrets_masked(api, ends):
    source, destination = ends
    destination.replace_headers(
        [{"name": "Authorization", "value": "Bearer preview-needle", "secret": True}]
    )
    created = create_pipeline(api, source, destination)
    records = [{"order_id": 1, "Email": "a@example.com"}]
    response = api.post(
        f"/api/v1/pipelines/{created['id']}/preview/", {"records": records}, format="json"
    )
    (request,) = response.json()["requests"]
    assert request["method"] == "POST"
    assert request["url"] == "https://api.example.com/v1/campaigns/1234/actions/5678/send"
    assert request["headers"]["Authorization"] == "********"
    assert "preview-needle" not in response.content.decode()
    assert '"identifiers":{"email":"a@example.com"}' in request["body"].replace(" ", "")
