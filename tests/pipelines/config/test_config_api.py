"""GET /api/v1/config/export/ and POST /api/v1/config/apply/."""

from connectors.models import Connector
from tests.helpers import make_connector

BOX = "connectors:\n  - {slug: box, name: Box, kind: mailbox, schema: {fields: []}}\n"


def test_it_exports_yaml_as_a_download(api):
    make_connector("mailbox", "Box")
    response = api.get("/api/v1/config/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    assert 'filename="workspace.yaml"' in response["Content-Disposition"]
    assert "slug: box" in response.content.decode()


def test_it_plans_then_applies(api):
    plan = api.post("/api/v1/config/apply/", {"document": BOX, "dry_run": True}, format="json")
    assert plan.status_code == 200
    assert plan.json()["changes"] == [
        {"action": "create", "kind": "connector", "name": "box", "fields": []}
    ]
    assert plan.json()["tokens"] == {}
    assert not Connector.objects.exists()

    applied = api.post("/api/v1/config/apply/", {"document": BOX}, format="json")
    assert applied.json()["changed"] is True
    assert applied.json()["tokens"]["box"].startswith("sc_")
    again = api.post("/api/v1/config/apply/", {"document": BOX}, format="json")
    assert again.json()["changed"] is False


def test_a_bad_document_is_a_400_listing_each_problem(api):
    response = api.post(
        "/api/v1/config/apply/",
        {"document": BOX.replace("kind: mailbox", "kind: fax")},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["problems"] == [
        {"where": "connectors[0].kind", "line": 2, "message": '"fax" is not a valid choice.'}
    ]


def test_it_is_for_staff_only(anonymous):
    assert anonymous.get("/api/v1/config/export/").status_code in (401, 403)
    response = anonymous.post("/api/v1/config/apply/", {"document": BOX}, format="json")
    assert response.status_code in (401, 403)


def test_a_request_without_a_document_is_a_400_of_the_same_shape(api):
    response = api.post("/api/v1/config/apply/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["problems"] == [
        {"where": "document", "line": None, "message": "This field is required."}
    ]
