"""The audit log: every configuration change and every action, by API, page, admin or command,
with who, what and a diff in which no secret ever appears."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from connectors.api_tokens import ApiToken
from connectors.audit import AuditEntry, purge_old_entries
from pipelines.delivery.models import Delivery
from pipelines.ingest.receive import accept_batch
from pipelines.runs.models import RecordError, Run
from tests.helpers import make_connector, make_pipeline

# Planted secrets: none of them may ever be found in the audit log.
HEADER_SECRET = "planted-header-secret-4f1e"
AUTH_SECRET = "planted-auth-secret-9a2b"
SIGNING_SECRET = "whsec_cGxhbnRlZC1zaWduaW5nLXNlY3JldA=="
VERIFY_SECRET = "planted-verification-secret-77c0"
VARIABLE_SECRET = "planted-variable-secret-5e11"
PASSWORD = "planted-Password-31337"
PLANTED = [HEADER_SECRET, AUTH_SECRET, SIGNING_SECRET, "cGxhbnRlZC1zaWduaW5n", VERIFY_SECRET]


def assert_no_secret_in_the_log():
    text = json.dumps(list(AuditEntry.objects.values()), default=str)
    for secret in [*PLANTED, PASSWORD]:
        assert secret not in text
    tokens = ApiToken.objects.values_list("key_hash", flat=True)
    assert not any(digest in text for digest in tokens)


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def destination_body(**overrides) -> dict:
    body = {
        "name": "Customer.io",
        "kind": "http_destination",
        "url": "https://api.example.com/send",
        "method": "POST",
        "headers": [{"name": "X-Key", "value": HEADER_SECRET, "secret": True}],
        "auth": {"type": "bearer", "token": AUTH_SECRET},
        "signing_secret": SIGNING_SECRET,
        "schema": {"fields": [{"name": "id", "type": "string", "required": True}]},
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def test_it_records_api_create_update_and_delete_of_a_connector(api, alice):
    created = api.post("/api/v1/connectors/", destination_body(), format="json").json()
    pk = created["id"]
    api.patch(
        f"/api/v1/connectors/{pk}/",
        {
            "name": "Customer.io EU",
            "headers": [{"name": "X-Key", "value": "another-planted-one", "secret": True}],
            "schema": {"fields": [{"name": "id"}, {"name": "email", "type": "email"}]},
        },
        format="json",
    )
    api.delete(f"/api/v1/connectors/{pk}/")

    create, update, delete = entries(object_type="connector")
    token = ApiToken.objects.get(user=alice)
    assert (create.action, update.action, delete.action) == ("create", "update", "delete")
    assert create.actor == f"alice (token “{token.prefix}”)"
    assert create.user == alice and create.object_id == str(pk)
    assert create.changes["name"] == {"from": None, "to": "Customer.io"}
    assert create.changes["auth"]["to"] == {"type": "bearer", "token": "********"}
    assert create.changes["signing_secret"] == {"from": None, "to": "********"}
    assert update.object_name == "Customer.io EU"
    assert update.changes["name"] == {"from": "Customer.io", "to": "Customer.io EU"}
    assert [f["name"] for f in update.changes["schema"]["to"]["fields"]] == ["id", "email"]
    # The header's value changed behind its mask: recorded as changed, never shown.
    assert update.changes["headers"] == {"from": "********", "to": "********"}
    assert set(update.changes) == {"name", "schema", "headers"}
    assert delete.changes["name"] == {"from": "Customer.io EU", "to": None}
    assert "another-planted-one" not in json.dumps(update.changes)
    assert_no_secret_in_the_log()


def test_it_records_verification_secrets_masked(api):
    body = {
        "name": "Hooks",
        "kind": "ingest_endpoint",
        "verification": {"scheme": "github", "secret": VERIFY_SECRET},
    }
    pk = api.post("/api/v1/connectors/", body, format="json").json()["id"]
    api.patch(
        f"/api/v1/connectors/{pk}/",
        {"verification": {"scheme": "github", "secret": VERIFY_SECRET + "-2"}},
        format="json",
    )
    create, update = entries(object_type="connector")
    assert create.changes["verification"]["to"]["secret"] == "********"
    assert create.changes["token"] == {"from": None, "to": "********"}
    assert update.changes == {"verification": {"from": "********", "to": "********"}}
    assert_no_secret_in_the_log()


def test_it_records_a_changed_secret_variable_masked(api, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    body = {
        "name": "Slack",
        "kind": "http_destination",
        "url": "{{ webhook_url }}",
        "secret_variables": {"webhook_url": "https://hooks.example/" + VARIABLE_SECRET},
    }
    pk = api.post("/api/v1/connectors/", body, format="json").json()["id"]
    changed = {"webhook_url": "https://hooks.example/" + VARIABLE_SECRET + "-2"}
    api.patch(f"/api/v1/connectors/{pk}/", {"secret_variables": changed}, format="json")
    create, update = entries(object_type="connector")
    assert create.changes["secret_variables"]["to"] == {"webhook_url": "********"}
    assert update.changes == {"secret_variables": {"from": "********", "to": "********"}}
    assert VARIABLE_SECRET not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_a_save_that_changes_nothing_records_nothing(api):
    pk = api.post("/api/v1/connectors/", destination_body(), format="json").json()["id"]
    api.patch(f"/api/v1/connectors/{pk}/", {"name": "Customer.io"}, format="json")
    api.patch(f"/api/v1/connectors/{pk}/", {"batch_size": 0}, format="json")  # refused
    assert [e.action for e in entries(object_type="connector")] == ["create"]


def test_it_records_api_create_update_and_delete_of_a_pipeline(api):
    source = make_connector("ingest_endpoint", "Orders", [{"name": "order_id"}])
    box = make_connector("mailbox", "Box", [{"name": "id"}])
    pk = api.post(
        "/api/v1/pipelines/",
        {"name": "Orders to box", "source": source.pk, "destination": box.pk},
        format="json",
    ).json()["id"]
    api.patch(
        f"/api/v1/pipelines/{pk}/",
        {"mappings": [{"target": "id", "source": "order_id"}]},
        format="json",
    )
    api.delete(f"/api/v1/pipelines/{pk}/")

    create, update, delete = entries(object_type="pipeline")
    assert (create.action, update.action, delete.action) == ("create", "update", "delete")
    assert create.changes["source"] == {"from": None, "to": "orders"}
    assert update.changes == {
        "mappings": {
            "from": [],
            "to": [{"target": "id", "source": "order_id", "transforms": []}],
        }
    }
    assert delete.object_name == "Orders to box"


def test_it_records_an_edit_in_the_pages_with_the_signed_in_user(alice):
    connector = make_connector("mailbox", "Box", [{"name": "id"}])
    client = Client()
    client.force_login(alice)
    schema = json.dumps({"fields": [{"name": "id"}, {"name": "total", "type": "number"}]})
    client.post(f"/connectors/{connector.pk}/adopt-schema/", {"schema_json": schema})

    (entry,) = entries(object_type="connector")
    assert (entry.action, entry.actor, entry.object_name) == ("update", "alice", "Box")
    assert [f["name"] for f in entry.changes["schema"]["to"]["fields"]] == ["id", "total"]


def test_it_records_an_edit_in_the_django_admin(editor):
    connector = make_connector("http_destination", "API", url="https://a.example.com/x")
    client = Client()
    client.force_login(editor)
    response = client.post(
        "/admin/connectors/connector/",
        {"action": "disable", "_selected_action": [connector.pk]},
    )
    assert response.status_code == 302
    (entry,) = entries(object_type="connector")
    assert (entry.action, entry.actor) == ("update", "edith")
    assert entry.changes == {"enabled": {"from": True, "to": False}}


def test_it_records_config_apply_as_the_command(db, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_KEY", HEADER_SECRET)
    path = tmp_path / "workspace.yaml"
    path.write_text(
        "version: 1\nconnectors:\n"
        "  - slug: api\n    name: API\n    kind: http_destination\n"
        "    url: https://api.example.com/x\n    method: POST\n"
        "    headers:\n      - {name: X-Key, value: {env: HOOK_KEY}, secret: true}\n"
    )
    call_command("config", "apply", str(path), stdout=StringIO())
    call_command("config", "apply", str(path), stdout=StringIO())  # unchanged

    (entry,) = entries(object_type="connector")
    assert (entry.action, entry.actor, entry.object_name) == (
        "create",
        "command: config apply",
        "API",
    )
    assert entry.changes["headers"]["to"] == [
        {"name": "X-Key", "value": "********", "secret": True}
    ]
    assert_no_secret_in_the_log()


def test_a_dry_run_records_nothing(api):
    document = "version: 1\nconnectors:\n  - {slug: box, name: Box, kind: mailbox}\n"
    response = api.post("/api/v1/config/apply/", {"document": document, "dry_run": True})
    assert response.status_code == 200
    assert not AuditEntry.objects.exists()


def test_it_records_token_and_signing_secret_rotations(api):
    hooks = make_connector("ingest_endpoint", "Hooks")
    hooks.rotate_token()
    api_dest = make_connector(
        "http_destination", "API", url="https://a.example.com/x", signing_secret=SIGNING_SECRET
    )
    new_token = api.post(f"/api/v1/connectors/{hooks.pk}/rotate-token/").json()["token"]
    new_secret = api.post(f"/api/v1/connectors/{api_dest.pk}/rotate-signing-secret/").json()[
        "signing_secret"
    ]

    token, signing = entries(object_type="connector")
    assert (token.action, token.object_name) == ("rotate_token", "Hooks")
    assert token.changes == {"token": {"from": "********", "to": "********"}}
    assert signing.action == "rotate_signing_secret"
    assert signing.changes["signing_secret"] == {"from": "********", "to": "********"}
    log = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert new_token not in log and new_secret not in log
    assert_no_secret_in_the_log()


def test_it_records_personal_tokens_issued_and_revoked(alice, anonymous):
    response = anonymous.post(
        "/api/v1/tokens/",
        {"username": "alice", "password": "alice-password", "name": "ci"},
        format="json",
    )
    key = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.delete(f"/api/v1/tokens/{response.json()['id']}/")

    issued, revoked = entries(object_type="api_token")
    assert (issued.action, issued.actor, issued.object_name) == ("create", "alice", "ci")
    assert revoked.action == "revoke" and revoked.actor == "alice (token “ci”)"
    assert key not in json.dumps(list(AuditEntry.objects.values()), default=str)


def test_it_records_users_and_role_changes_without_passwords(admin_member):
    client = APIClient()
    client.force_authenticate(admin_member)
    pk = client.post(
        "/api/v1/users/",
        {"username": "victor", "password": PASSWORD, "role": "viewer"},
        format="json",
    ).json()["id"]
    client.patch(f"/api/v1/users/{pk}/", {"role": "editor"}, format="json")
    client.patch(f"/api/v1/users/{pk}/", {"password": PASSWORD + "-2"}, format="json")

    create, promote, password = entries(object_type="user")
    assert create.action == "create" and create.changes["role"] == {"from": None, "to": "viewer"}
    assert promote.changes == {
        "role": {"from": "viewer", "to": "editor"},
        "groups": {"from": ["viewer"], "to": ["editor"]},
    }
    assert password.changes == {"password": {"from": "********", "to": "********"}}
    assert_no_secret_in_the_log()


def test_it_records_a_replay(api):
    source = make_connector("ingest_endpoint", "Orders")
    destination = make_connector("http_destination", "API", url="https://a.example.com/x")
    pipeline = make_pipeline(source, destination)
    run = Run.objects.create(source=source, trigger=Run.Trigger.INGEST)
    delivery = Delivery.objects.create(
        pipeline=pipeline, destination=destination, run=run, records=[{}], status="dead"
    )
    run.count_delivery(pipeline.pk, failed=1)
    assert api.post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 202

    (entry,) = entries(object_type="delivery")
    assert (entry.action, entry.object_id) == ("replay", str(delivery.pk))
    assert entry.changes == {"status": {"from": "dead", "to": "pending"}}
    assert entry.actor.startswith("alice (token")


def test_it_records_a_resend(alice):
    orders = make_connector("ingest_endpoint", "Orders", [{"name": "n", "type": "integer"}])
    box = make_connector("mailbox", "Box", [{"name": "n", "type": "integer"}])
    make_pipeline(orders, box)
    run = Run.objects.get(pk=accept_batch(orders, [{"n": "x"}]).data["run"])
    error = RecordError.objects.get(run=run)
    client = Client()
    client.force_login(alice)
    client.post(
        f"/runs/{run.pk}/resend/",
        {"columns": json.dumps(["n"]), "only": error.pk, f"r{error.pk}-c0": "1"},
    )
    resent = Run.objects.get(trigger=Run.Trigger.RESEND)

    (entry,) = entries(object_type="run")
    assert (entry.action, entry.object_id, entry.actor) == ("resend", str(run.pk), "alice")
    assert entry.changes == {
        "records": {"from": None, "to": 1},
        "run": {"from": None, "to": resent.pk},
    }


def test_it_records_the_encryption_key_rotation(db):
    call_command("rotate_encryption_key", stdout=StringIO())
    (entry,) = entries(object_type="encryption_key")
    assert (entry.action, entry.actor) == (
        "rotate_encryption_key",
        "command: rotate_encryption_key",
    )


def test_changes_outside_a_request_or_command_are_not_recorded(db):
    make_connector("mailbox", "Box").delete()
    assert not AuditEntry.objects.exists()


def test_entries_older_than_the_retention_are_purged(db, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        AuditEntry.objects.create(actor="a", action="update", object_type="connector")
    with time_machine.travel(start + timedelta(days=20), tick=False):
        AuditEntry.objects.create(actor="b", action="update", object_type="connector")
    assert purge_old_entries(now=start + timedelta(days=31)) == 1
    assert list(AuditEntry.objects.values_list("actor", flat=True)) == ["b"]


def test_nobody_edits_the_log_in_the_django_admin(db, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw")
    entry = AuditEntry.objects.create(actor="a", action="update", object_type="connector")
    client = Client()
    client.force_login(root)
    assert client.get("/admin/connectors/auditentry/").status_code == 200
    assert client.get("/admin/connectors/auditentry/add/").status_code == 403
    assert client.post(f"/admin/connectors/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/connectors/auditentry/{entry.pk}/change/", {}).status_code == 403
    assert AuditEntry.objects.count() == 1
