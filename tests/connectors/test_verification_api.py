from __future__ import annotations

from django.db import connection

from connectors.models import Connector
from connectors.verification import sign_example, verify

SECRET = "It's a Secret to Everybody"
GITHUB = {
    "name": "GitHub pushes",
    "kind": "ingest_endpoint",
    "verification": {"scheme": "github", "secret": SECRET},
}


def stored_column(connector_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT verification FROM connectors_connector WHERE id = %s", [connector_id]
        )
        return cursor.fetchone()[0]


def create(api, **verification):
    return api.post("/api/v1/connectors/", {**GITHUB, "verification": verification}, format="json")


def test_it_creates_with_a_secret_and_shows_it_masked(api):
    response = api.post("/api/v1/connectors/", GITHUB, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["verification"] == {
        "scheme": "github",
        "secret": "********",
        "allow_query_token": False,
    }
    for reading in (
        api.get(f"/api/v1/connectors/{response.json()['id']}/"),
        api.get("/api/v1/connectors/"),
    ):
        assert SECRET not in reading.content.decode()
        assert "********" in reading.content.decode()


def test_the_secret_is_encrypted_in_the_database(api):
    created = api.post("/api/v1/connectors/", GITHUB, format="json").json()

    column = stored_column(created["id"])
    assert SECRET not in column and "github" not in column
    assert Connector.objects.get(pk=created["id"]).verification["secret"] == SECRET


def test_the_default_is_the_endpoint_token(api):
    created = api.post(
        "/api/v1/connectors/", {"name": "Plain", "kind": "ingest_endpoint"}, format="json"
    )

    assert created.json()["verification"] == {"scheme": "token", "allow_query_token": False}
    assert "token" in created.json()


def test_a_query_token_can_be_allowed(api):
    response = create(api, scheme="token", allow_query_token=True)

    assert response.json()["verification"] == {"scheme": "token", "allow_query_token": True}


def test_patch_rotation_keeps_both_secrets(api):
    created = api.post("/api/v1/connectors/", GITHUB, format="json").json()
    url = f"/api/v1/connectors/{created['id']}/"

    response = api.patch(
        url,
        {
            "verification": {
                "scheme": "github",
                "secret": "the new secret",
                "previous_secret": SECRET,
            }
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["verification"]["previous_secret"] == "********"
    config = Connector.objects.get(pk=created["id"]).verification
    body = b'{"ref": "main"}'
    old = sign_example({**config, "secret": SECRET}, body, 0)
    new = sign_example(config, body, 0)
    assert verify(config, old, body, 0).by_previous_secret
    assert not verify(config, new, body, 0).by_previous_secret


def test_masked_secrets_sent_back_are_kept_and_an_absent_previous_secret_is_removed(api):
    created = create(api, scheme="github", secret="new", previous_secret=SECRET).json()
    url = f"/api/v1/connectors/{created['id']}/"

    kept = api.patch(url, {"verification": created["verification"]}, format="json")
    assert kept.status_code == 200, kept.json()
    assert Connector.objects.get(pk=created["id"]).verification["previous_secret"] == SECRET

    removed = api.patch(
        url, {"verification": {"scheme": "github", "secret": "********"}}, format="json"
    )
    assert removed.status_code == 200, removed.json()
    assert "previous_secret" not in removed.json()["verification"]
    assert Connector.objects.get(pk=created["id"]).verification == {
        "scheme": "github",
        "secret": "new",
        "allow_query_token": False,
    }


def test_other_changes_leave_the_verification_alone(api):
    created = api.post("/api/v1/connectors/", GITHUB, format="json").json()

    api.patch(f"/api/v1/connectors/{created['id']}/", {"name": "Renamed"}, format="json")

    assert Connector.objects.get(pk=created["id"]).verification["secret"] == SECRET


def test_bad_settings_are_a_400_naming_the_field(api):
    for verification, field in (
        ({"scheme": "gitlab"}, "scheme"),
        ({"scheme": "github"}, "secret"),
        ({"scheme": "standard_webhooks", "secret": "whsec_%%%"}, "secret"),
        ({"scheme": "hmac", "secret": "s", "header": "X-Sig", "algorithm": "md5"}, "algorithm"),
        ({"scheme": "github", "secret": "********"}, "secret"),
    ):
        response = create(api, **verification)

        assert response.status_code == 400, verification
        assert list(response.json()) == ["verification"]
        assert field in response.json()["verification"], response.json()
        assert "%%%" not in response.content.decode()


def test_a_verification_that_is_not_an_object_is_a_400(api):
    response = api.post("/api/v1/connectors/", {**GITHUB, "verification": "github"}, format="json")

    assert response.status_code == 400
    assert "verification" in response.json()


def test_other_kinds_have_no_verification(api):
    created = api.post(
        "/api/v1/connectors/",
        {"name": "Out", "kind": "mailbox", "verification": GITHUB["verification"]},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert "verification" not in created.json()
    assert Connector.objects.get(pk=created.json()["id"]).verification == {}


def test_the_connector_verifies_a_sender_by_its_setting(db):
    connector = Connector.objects.create(name="In", kind="ingest_endpoint")
    token = connector.rotate_token()
    body = b"Hello, World!"

    assert connector.verify_sender({"Authorization": f"Bearer {token}"}, body, 0).scheme == "token"

    connector.verification = {"scheme": "github", "secret": SECRET}
    connector.save()
    connector.refresh_from_db()
    headers = {
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    assert connector.verify_sender(headers, body, 0).scheme == "github"
