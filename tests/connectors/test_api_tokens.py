"""Management API tokens: stored hashed, shown once, expiring and revocable."""

from __future__ import annotations

import hashlib
import importlib
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from connectors.models import ApiToken

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def create_token_command(*args: str) -> str:
    out = StringIO()
    call_command("drf_create_token", *args, stdout=out)
    return out.getvalue()


def test_drf_create_token_prints_the_key_as_the_readme_reads_it(alice):
    output = create_token_command("alice")

    key = output.split()[2]  # `... | awk '{print $3}'`
    assert output == f"Generated token {key} for user alice\n"
    assert client_with(key).get("/api/v1/connectors/").status_code == 200
    token = ApiToken.objects.get(user=alice)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(token.prefix) and len(token.prefix) < len(key) // 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM connectors_apitoken")
        assert key not in repr(cursor.fetchall())


def test_drf_create_token_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="nobody"):
        create_token_command("nobody")


def test_each_call_makes_a_new_token_and_reset_revokes_the_others(alice):
    first = create_token_command("alice").split()[2]
    second = create_token_command("alice").split()[2]
    assert first != second
    assert client_with(first).get("/api/v1/connectors/").status_code == 200

    third = create_token_command("alice", "--reset").split()[2]
    assert client_with(first).get("/api/v1/connectors/").status_code == 401
    assert client_with(third).get("/api/v1/connectors/").status_code == 200


def test_wrong_expired_and_revoked_tokens_get_401_saying_which(alice):
    assert client_with("nope").get("/api/v1/connectors/").status_code == 401
    token, key = ApiToken.issue(alice, name="ci", expires_in=timedelta(days=1))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        response = client_with(key).get("/api/v1/connectors/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]

    token.revoke()
    response = client_with(key).get("/api/v1/connectors/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_token_of_a_deactivated_user_stops_working(alice):
    _, key = ApiToken.issue(alice)
    alice.is_active = False
    alice.save()
    assert client_with(key).get("/api/v1/connectors/").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(alice):
    token, key = ApiToken.issue(alice)
    with time_machine.travel(START, tick=False):
        client_with(key).get("/api/v1/connectors/")
    token.refresh_from_db()
    assert token.last_used_at == START

    with time_machine.travel(START + timedelta(seconds=30), tick=False):
        client_with(key).get("/api/v1/connectors/")
    token.refresh_from_db()
    assert token.last_used_at == START

    with time_machine.travel(START + timedelta(seconds=61), tick=False):
        client_with(key).get("/api/v1/connectors/")
    token.refresh_from_db()
    assert token.last_used_at == START + timedelta(seconds=61)


def test_post_tokens_issues_one_shown_once(alice, anonymous):
    response = anonymous.post(
        "/api/v1/tokens/",
        {"username": "alice", "password": "alice-password", "name": "ci", "expires_in_days": 30},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    key = body["token"]
    assert body["name"] == "ci" and body["expires_at"] and key.startswith(body["prefix"])

    listed = client_with(key).get("/api/v1/tokens/")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row["id"] == body["id"] and row["name"] == "ci" and row["last_used_at"]
    assert key not in listed.content.decode()
    assert {"created_at", "expires_at", "prefix", "revoked_at"} <= set(row)


def test_post_tokens_refuses_bad_credentials_and_bad_input(alice, anonymous):
    wrong = anonymous.post(
        "/api/v1/tokens/", {"username": "alice", "password": "guess"}, format="json"
    )
    assert wrong.status_code == 401 and "password" in wrong.json()["detail"]
    missing = anonymous.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert missing.status_code == 400 and {"username", "password"} <= set(missing.json())
    bad = anonymous.post(
        "/api/v1/tokens/",
        {"username": "alice", "password": "alice-password", "expires_in_days": 0},
        format="json",
    )
    assert bad.status_code == 400 and "expires_in_days" in bad.json()
    assert not ApiToken.objects.exists()


def test_one_lists_and_revokes_only_ones_own_tokens(alice, bob):
    alice_token, alice_key = ApiToken.issue(alice, name="alice's")
    bob_token, bob_key = ApiToken.issue(bob, name="bob's")
    as_bob = client_with(bob_key)

    assert [t["name"] for t in as_bob.get("/api/v1/tokens/").json()["results"]] == ["bob's"]
    assert as_bob.delete(f"/api/v1/tokens/{alice_token.pk}/").status_code == 404
    assert client_with(alice_key).get("/api/v1/connectors/").status_code == 200

    assert as_bob.delete(f"/api/v1/tokens/{bob_token.pk}/").status_code == 204
    assert as_bob.get("/api/v1/tokens/").status_code == 401
    assert APIClient().get("/api/v1/tokens/").status_code == 401
    assert client_with(alice_key).put(f"/api/v1/tokens/{alice_token.pk}/", {}).status_code == 405


def test_the_migration_turns_plaintext_tokens_into_hashed_ones(alice):
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY,'
            ' "created" timestamp NOT NULL, "user_id" integer NOT NULL)'
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            ["9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", START, alice.pk],
        )
    migration = importlib.import_module("connectors.migrations.0003_apitoken")

    migration.convert_plaintext_tokens(apps, None)

    key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    assert client_with(key).get("/api/v1/connectors/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)  # the plaintext keys are gone
    assert ApiToken.objects.get(user=alice).created_at == START
