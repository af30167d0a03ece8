"""Roles in the management API: every changing endpoint of the OpenAPI schema, walked as a viewer
and as an editor, so an endpoint added later cannot escape the roles."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from connectors.api_tokens import ApiToken
from pipelines.alerts.models import AlertChannel, AlertRule
from pipelines.delivery.models import Delivery
from pipelines.runs.models import Run
from tests.helpers import make_connector, make_pipeline

CHANGING = ("post", "put", "patch", "delete")
# Not the roles' business: ingest and mailbox answer to a connector's endpoint token, and
# everyone who may sign in manages their own personal API tokens.
OUTSIDE_ROLES = {
    ("post", "/api/v1/ingest/{slug}/"),
    ("post", "/api/v1/mailbox/{slug}/ack/"),
    ("post", "/api/v1/tokens/"),
    ("delete", "/api/v1/tokens/{id}/"),
}
ADMIN_ONLY = {
    ("post", "/api/v1/users/"),
    ("patch", "/api/v1/users/{id}/"),
    ("post", "/api/v1/alert-channels/"),
    ("put", "/api/v1/alert-channels/{id}/"),
    ("patch", "/api/v1/alert-channels/{id}/"),
    ("delete", "/api/v1/alert-channels/{id}/"),
    ("post", "/api/v1/alert-channels/{id}/test/"),
}


def schema_operations() -> list[tuple[str, str]]:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    operations = [(m, p) for p, item in paths.items() for m in item if m in CHANGING]
    # Deletes last: the objects the other calls need stay until then.
    return sorted(operations, key=lambda op: (op[0] == "delete", op[1]))


@pytest.fixture
def objects(db, alice):
    orders = make_connector("ingest_endpoint", "Orders")
    outbox = make_connector("mailbox", "Outbox")
    api = make_connector("http_destination", "API", url="https://api.example.com/x", method="POST")
    pipeline = make_pipeline(orders, api, name="Orders to API")
    run = Run.objects.create(source=orders, trigger=Run.Trigger.INGEST)
    delivery = Delivery.objects.create(pipeline=pipeline, destination=api, run=run, records=[{}])
    token, _ = ApiToken.issue(alice)
    channel = AlertChannel.objects.create(name="On call", kind="email", addresses=["a@example.com"])
    rule = AlertRule.objects.create(kind=AlertRule.Kind.PULL_FAILED)
    return {
        "alert-channels": channel.pk,
        "alert-rules": rule.pk,
        "connectors": api.pk,
        "mailbox": outbox.pk,
        "pipelines": pipeline.pk,
        "runs": run.pk,
        "deliveries": delivery.pk,
        "tokens": token.pk,
        "users": alice.pk,
        "slug": orders.slug,
        "presets": "discord-webhook",
    }


def fill(path: str, objects: dict) -> str:
    """The path with real objects in its parameters."""
    collection = path.split("/")[3]
    if "/consumers/" in path:
        path = path.replace("{id}", str(objects["mailbox"])).replace("{name}", "default")
    return re.sub(
        r"\{(\w+)\}",
        lambda m: str(objects["slug"] if m[1] == "slug" else objects[collection]),
        path,
    )


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_walk_sees_the_endpoints_it_should(db):
    operations = schema_operations()
    assert ("post", "/api/v1/connectors/") in operations
    assert ("delete", "/api/v1/pipelines/{id}/") in operations
    assert ("post", "/api/v1/deliveries/{id}/replay/") in operations
    assert set(operations) >= OUTSIDE_ROLES | ADMIN_ONLY


def test_a_viewer_gets_403_from_every_changing_endpoint(objects, viewer):
    client = client_for(viewer)
    for method, path in schema_operations():
        if (method, path) in OUTSIDE_ROLES:
            continue
        response = getattr(client, method)(fill(path, objects), {}, format="json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert "needs the" in response.json()["detail"]


def test_an_editor_may_use_every_changing_endpoint_but_the_admin_ones(objects, editor):
    client = client_for(editor)
    refused = set()
    for method, path in schema_operations():
        if (method, path) in OUTSIDE_ROLES:
            continue
        response = getattr(client, method)(fill(path, objects), {}, format="json")
        if response.status_code == 403:
            refused.add((method, path))
    assert refused == ADMIN_ONLY


def test_an_admin_may_use_the_admin_endpoints(objects, admin_member):
    client = client_for(admin_member)
    for method, path in sorted(ADMIN_ONLY, key=lambda op: (op[0] == "delete", op[1])):
        response = getattr(client, method)(fill(path, objects), {}, format="json")
        assert response.status_code in (200, 204, 400), (method, path)  # the empty body decides


def test_a_viewer_reads_every_list(objects, viewer):
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    lists = [p for p, item in paths.items() if "get" in item and "{" not in p]
    assert "/api/v1/connectors/" in lists and "/api/v1/deliveries/" in lists
    client = client_for(viewer)
    for path in lists:
        admin_only = ("/api/v1/users/", "/api/v1/audit/", "/api/v1/alert-channels/")
        expected = 403 if path in admin_only else 200
        assert client.get(path).status_code == expected, path
    for path in ("/api/v1/connectors/{connectors}/", "/api/v1/pipelines/{pipelines}/"):
        assert client.get(path.format(**objects)).status_code == 200


def test_a_viewer_sees_no_secret(viewer):
    make_connector(
        "http_destination",
        "API",
        url="https://api.example.com/x",
        method="POST",
        signing_secret="whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
        auth={"type": "bearer", "token": "planted-bearer-secret"},
    )
    body = client_for(viewer).get("/api/v1/connectors/").content.decode()
    assert "planted-bearer-secret" not in body and "c2VjcmV0" not in body
    assert "********" in body


def test_staff_in_no_role_group_act_as_editors(api):
    assert api.post("/api/v1/connectors/", {}, format="json").status_code == 400
    assert api.get("/api/v1/users/").status_code == 403


def test_signed_in_people_with_no_role_get_403(bob):
    assert client_for(bob).get("/api/v1/connectors/").status_code == 403


def test_a_viewer_reads_a_published_schema_and_no_role_does_not(db, bob, django_user_model):
    from django.contrib.auth.models import Group

    # In the group, not staff (as the Django admin may leave them): the role is what counts.
    gus = django_user_model.objects.create_user("gus", "gus@example.com", "gus-password")
    gus.groups.add(Group.objects.get(name="viewer"))
    outbox = make_connector("mailbox", "Outbox")
    url = f"/api/v1/mailbox/{outbox.slug}/schema/"
    assert client_for(gus).get(url).status_code == 200
    assert client_for(bob).get(url).status_code == 403
