"""Users with roles (API, page, command), personal tokens carrying a role, the audit API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from connectors.api_tokens import ApiToken
from connectors.audit import AuditEntry
from connectors.roles import role_of

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- groups ---------------------------------------------------------------------------------


def test_the_role_groups_exist_with_django_permissions(db):
    viewer, editor, admin = (Group.objects.get(name=n) for n in ("viewer", "editor", "admin"))
    viewer_perms = set(viewer.permissions.values_list("codename", flat=True))
    editor_perms = set(editor.permissions.values_list("codename", flat=True))
    admin_perms = set(admin.permissions.values_list("codename", flat=True))
    assert {"view_connector", "view_pipeline", "view_mailboxrecord"} <= viewer_perms
    assert all(p.startswith("view_") for p in viewer_perms)
    assert "view_apitoken" not in viewer_perms
    assert {"add_connector", "change_pipeline", "delete_mapping"} <= editor_perms
    assert "change_user" not in editor_perms
    assert editor_perms | {"add_user", "change_user", "change_group"} <= admin_perms


# --- the users API -----------------------------------------------------------------------------


def test_an_admin_creates_lists_promotes_and_deactivates_users(admin_member):
    client = client_for(admin_member)
    response = client.post(
        "/api/v1/users/",
        {"username": "victor", "password": "a-Long-passw0rd", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    victor = User.objects.get(username="victor")
    assert (
        role_of(victor) == "viewer" and victor.is_staff and victor.check_password("a-Long-passw0rd")
    )
    listed = {u["username"]: u["role"] for u in client.get("/api/v1/users/").json()["results"]}
    assert listed == {"ada": "admin", "victor": "viewer"}

    client.patch(f"/api/v1/users/{victor.pk}/", {"role": "editor"}, format="json")
    assert role_of(User.objects.get(pk=victor.pk)) == "editor"
    response = client.patch(f"/api/v1/users/{victor.pk}/", {"is_active": False}, format="json")
    assert response.json()["role"] is None
    assert not User.objects.get(pk=victor.pk).is_active


def test_the_users_api_refuses_bad_input_with_400(admin_member, alice, django_user_model):
    client = client_for(admin_member)
    weak = client.post(
        "/api/v1/users/", {"username": "v", "password": "123", "role": "viewer"}, format="json"
    )
    assert weak.status_code == 400 and "password" in weak.json()
    unknown = client.post(
        "/api/v1/users/", {"username": "v", "password": "a-Long-passw0rd", "role": "boss"}
    )
    assert unknown.status_code == 400 and "role" in unknown.json()
    taken = client.post(
        "/api/v1/users/", {"username": "alice", "password": "a-Long-passw0rd", "role": "viewer"}
    )
    assert taken.status_code == 400 and "username" in taken.json()
    myself = client.patch(f"/api/v1/users/{admin_member.pk}/", {"role": "viewer"}, format="json")
    assert myself.status_code == 400 and "own role" in myself.json()["role"][0]
    root = django_user_model.objects.create_superuser("root", "r@example.com", "root-pw")
    demote = client.patch(f"/api/v1/users/{root.pk}/", {"role": "viewer"}, format="json")
    assert demote.status_code == 400 and "superuser" in demote.json()["role"][0]
    assert client.delete(f"/api/v1/users/{alice.pk}/").status_code == 405


def test_a_deactivated_user_loses_api_and_pages(editor):
    _, key = ApiToken.issue(editor)
    editor.is_active = False
    editor.save()
    assert token_client(key).get("/api/v1/connectors/").status_code == 401


# --- the users page ----------------------------------------------------------------------------------


def test_an_admin_adds_and_manages_users_on_the_page(admin_member, viewer):
    client = Client()
    client.force_login(admin_member)
    page = client.get("/users/").content.decode()
    assert "victor" in page and "viewer" in page

    response = client.post(
        "/users/",
        {"username": "nina", "email": "", "role": "editor", "password": "a-Long-passw0rd"},
    )
    assert response.status_code == 302
    assert role_of(User.objects.get(username="nina")) == "editor"
    client.post(f"/users/{viewer.pk}/role/", {"role": "admin"})
    assert role_of(User.objects.get(pk=viewer.pk)) == "admin"
    client.post(f"/users/{viewer.pk}/active/", {"active": "0"})
    assert not User.objects.get(pk=viewer.pk).is_active
    client.post(f"/users/{admin_member.pk}/active/", {"active": "0"})
    assert User.objects.get(pk=admin_member.pk).is_active

    weak = client.post("/users/", {"username": "o", "role": "editor", "password": "123"})
    assert weak.status_code == 200 and "password" in weak.context["form"].errors


def test_the_nav_links_the_audit_log_and_users_by_role(viewer, editor, admin_member):
    def nav(user):
        client = Client()
        client.force_login(user)
        return client.get("/connectors/").content.decode()

    assert "Audit log" not in nav(viewer) and "/users/" not in nav(viewer)
    assert "Audit log" in nav(editor) and "/users/" not in nav(editor)
    assert "Audit log" in nav(admin_member) and "/users/" in nav(admin_member)


# --- the command -------------------------------------------------------------------------------------


def test_create_user_prints_one_line_and_gives_the_role(db, monkeypatch):
    out = StringIO()
    monkeypatch.setenv("NEW_PASSWORD", "a-Long-passw0rd")
    call_command(
        "create_user", "nina", "--role", "editor", "--password-from-env", "NEW_PASSWORD", stdout=out
    )
    assert out.getvalue() == "Created nina (editor, with a password).\n"
    nina = User.objects.get(username="nina")
    assert role_of(nina) == "editor" and nina.check_password("a-Long-passw0rd")
    (entry,) = AuditEntry.objects.filter(object_type="user")
    assert entry.actor == "command: create_user"


def test_create_user_names_what_is_wrong(db, monkeypatch):
    with pytest.raises(CommandError, match="NOPE"):
        call_command("create_user", "nina", "--role", "viewer", "--password-from-env", "NOPE")
    with pytest.raises(CommandError, match="refused"):
        call_command("create_user", "nina", "--role", "viewer", "--password", "123")
    call_command("create_user", "nina", "--role", "viewer", stdout=StringIO())
    with pytest.raises(CommandError, match="exists"):
        call_command("create_user", "nina", "--role", "viewer")


# --- personal tokens with a role ------------------------------------------------------------------------


def issue(client, username, password, **body):
    return client.post(
        "/api/v1/tokens/",
        {"username": username, "password": password, "name": "ci", **body},
        format="json",
    )


def test_a_token_may_carry_a_lower_role_than_its_owner(alice, anonymous):
    response = issue(anonymous, "alice", "alice-password", role="viewer")
    assert response.status_code == 201
    assert (response.json()["role"], response.json()["effective_role"]) == ("viewer", "viewer")
    client = token_client(response.json()["token"])
    assert client.get("/api/v1/connectors/").status_code == 200
    assert client.post("/api/v1/connectors/", {}, format="json").status_code == 403
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert [(t["name"], t["role"]) for t in listed] == [("ci", "viewer")]


def test_a_token_above_its_owners_role_is_a_400_naming_the_role(viewer, anonymous):
    response = issue(anonymous, "victor", "victor-password", role="editor")
    assert response.status_code == 400
    assert "'editor'" in response.json()["role"][0] and "viewer" in response.json()["role"][0]
    assert not ApiToken.objects.exists()


def test_a_token_acts_with_at_most_its_owners_current_role(editor, anonymous):
    key = issue(anonymous, "edith", "edith-password", role="editor").json()["token"]
    client = token_client(key)
    assert client.post("/api/v1/connectors/", {}, format="json").status_code == 400
    from connectors.roles import set_role

    set_role(editor, "viewer")
    assert client.post("/api/v1/connectors/", {}, format="json").status_code == 403
    assert client.get("/api/v1/connectors/").status_code == 200


def test_a_token_without_a_role_follows_its_owner(editor):
    out = StringIO()
    call_command("drf_create_token", "edith", stdout=out)
    key = out.getvalue().split()[2]
    token = ApiToken.objects.get(user=editor)
    assert token.role == "" and role_of(editor, token) == "editor"
    assert token_client(key).post("/api/v1/connectors/", {}, format="json").status_code == 400


def test_expired_and_revoked_role_tokens_stop_and_use_is_noted(viewer):
    with time_machine.travel(START, tick=False):
        token, key = ApiToken.issue(viewer, role="viewer", expires_in=timedelta(days=1))
        assert token_client(key).get("/api/v1/connectors/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == START
    with time_machine.travel(START + timedelta(days=2), tick=False):
        assert token_client(key).get("/api/v1/connectors/").status_code == 401
    _, other = ApiToken.issue(viewer, role="viewer")
    ApiToken.objects.filter(user=viewer).revoke()
    assert token_client(other).get("/api/v1/connectors/").status_code == 401


# --- the audit API --------------------------------------------------------------------------------------


@pytest.fixture
def logged(db):
    rows = [
        (START, "connector", "1", "update"),
        (START + timedelta(hours=1), "pipeline", "2", "create"),
        (START + timedelta(hours=2), "connector", "1", "delete"),
    ]
    for at, object_type, object_id, action in rows:
        AuditEntry.objects.create(
            at=at, actor="alice", action=action, object_type=object_type, object_id=object_id
        )


def test_the_audit_api_lists_newest_first_with_filters(logged, editor, alice):
    AuditEntry.objects.update(user=alice)
    client = client_for(editor)
    every = client.get("/api/v1/audit/").json()["results"]
    assert [e["action"] for e in every] == ["delete", "create", "update"]
    assert set(every[0]) == {
        "id",
        "at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object_name",
        "changes",
    }
    one = client.get("/api/v1/audit/?object_type=connector&object_id=1").json()["results"]
    assert [e["action"] for e in one] == ["delete", "update"]
    window = client.get(
        "/api/v1/audit/",
        {"since": "2026-03-02T09:30:00Z", "until": "2026-03-02T11:00:00Z"},
    ).json()["results"]
    assert [e["action"] for e in window] == ["create"]
    assert client.get("/api/v1/audit/?user=alice").json()["count"] == 3
    assert client.get("/api/v1/audit/?user=bob").json()["count"] == 0


def test_the_audit_api_refuses_a_bad_time_and_viewers(logged, editor, viewer):
    response = client_for(editor).get("/api/v1/audit/?since=yesterday")
    assert response.status_code == 400 and "since" in response.json()
    assert client_for(viewer).get("/api/v1/audit/").status_code == 403
    assert client_for(editor).post("/api/v1/audit/", {}).status_code == 405


def test_the_audit_page_filters_like_the_api(logged, editor):
    client = Client()
    client.force_login(editor)
    response = client.get("/audit/?object_type=pipeline")
    assert [e.action for e in response.context["entries"]] == ["create"]
    assert client.get("/audit/?since=nope").status_code == 200
