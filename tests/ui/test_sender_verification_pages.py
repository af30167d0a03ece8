"""Sender verification in the browser: the scheme picker, the signed sample, the signing script,
the last refused requests."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from django.test import Client

from connectors.models import Connector
from connectors.verification import clean_verification, sign_example
from pipelines.runs.models import Run
from tests.helpers import VERIFICATION_SETTINGS, make_connector

GITHUB_SECRET = "It's a Secret to Everybody"
SETTINGS = VERIFICATION_SETTINGS


def endpoint(scheme: str, **overrides) -> Connector:
    connector = make_connector(
        "ingest_endpoint", f"Hooks {scheme}", [{"name": "id", "type": "string"}]
    )
    connector.verification = clean_verification({**SETTINGS[scheme], **overrides})
    connector.save()
    return connector


def ingest_form(**fields) -> dict:
    return {"name": "GitHub pushes", "schema_json": '{"fields": []}', **fields}


def test_it_creates_a_github_endpoint_and_never_shows_its_secret(staff):
    response = staff.post(
        "/connectors/new/ingest_endpoint/",
        ingest_form(verification_scheme="github", verification_secret=GITHUB_SECRET),
        follow=True,
    )
    connector = Connector.objects.get(name="GitHub pushes")
    assert connector.verification == {
        "scheme": "github",
        "secret": GITHUB_SECRET,
        "allow_query_token": False,
    }
    page = response.content.decode()
    assert "X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256 of the body&gt;" in page
    assert GITHUB_SECRET not in page and "Secret to Everybody" not in page
    edit = staff.get(f"/connectors/{connector.pk}/edit/").content.decode()
    assert "Secret to Everybody" not in edit
    assert 'data-sender-header="github"' in edit


def test_a_blank_secret_keeps_the_stored_one_and_the_previous_secret_can_be_set(staff):
    connector = endpoint("github")
    form = ingest_form(
        name=connector.name, verification_scheme="github", verification_previous_secret="old"
    )
    response = staff.post(f"/connectors/{connector.pk}/edit/", form)
    assert response.status_code == 302, response.context["form"].errors
    connector.refresh_from_db()
    assert connector.verification["secret"] == GITHUB_SECRET
    assert connector.verification["previous_secret"] == "old"
    form["verification_forget_previous"] = "on"
    staff.post(f"/connectors/{connector.pk}/edit/", form)
    connector.refresh_from_db()
    assert "previous_secret" not in connector.verification
    assert connector.verification["secret"] == GITHUB_SECRET


def test_it_shows_a_missing_secret_next_to_its_field(staff):
    response = staff.post(
        "/connectors/new/ingest_endpoint/", ingest_form(verification_scheme="stripe")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["verification_secret"] == ["Enter the signing secret."]
    assert not Connector.objects.exists()


def test_it_sets_the_hmac_options_and_tolerance(staff):
    staff.post(
        "/connectors/new/ingest_endpoint/",
        ingest_form(
            verification_scheme="hmac",
            verification_secret="s3cret",
            verification_header="X-Signature",
            verification_algorithm="sha1",
            verification_encoding="base64",
            verification_prefix="sha1=",
        ),
    )
    assert Connector.objects.get().verification == {
        "scheme": "hmac",
        "secret": "s3cret",
        "header": "X-Signature",
        "algorithm": "sha1",
        "encoding": "base64",
        "prefix": "sha1=",
        "allow_query_token": False,
    }
    staff.post(
        "/connectors/new/ingest_endpoint/",
        ingest_form(
            name="Slack events",
            verification_scheme="slack",
            verification_secret="s3cret",
            verification_tolerance_seconds="60",
        ),
    )
    assert Connector.objects.get(name="Slack events").verification["tolerance_seconds"] == 60


@pytest.mark.parametrize("scheme", SETTINGS)
def test_the_signed_sample_goes_through_the_real_endpoint(staff, scheme):
    connector = endpoint(scheme)
    response = staff.post(
        f"/connectors/{connector.pk}/signed-sample/", {"record": '{"id": "evt_1"}'}
    )
    result = response.context["signed_result"]
    assert result["status"] == 202, result
    assert Run.objects.get(pk=result["run"]).accepted == 1


def test_refused_requests_show_on_the_connector_page_with_time_and_reason(staff):
    connector = endpoint("stripe")
    for headers in ({"Stripe-Signature": "t=1,v1=00"}, {}):
        Client().post(
            f"/api/v1/ingest/{connector.slug}/",
            {"id": "x"},
            content_type="application/json",
            headers=headers,
        )
    page = staff.get(f"/connectors/{connector.pk}/")
    failures = page.context["verification_failures"]
    assert [f.reason for f in failures] == [
        "no Stripe-Signature header",
        "signature does not match",
    ]
    html = page.content.decode()
    assert "signature does not match" in html and f"{failures[0].at:%Y-%m-%d %H:%M}" in html
    assert "whsec_stripe_signing_secret" not in html


def test_it_says_when_the_sender_still_uses_the_previous_secret(staff):
    connector = endpoint("github", secret="the-new-secret", previous_secret=GITHUB_SECRET)
    assert (
        "previous-secret-notice" not in staff.get(f"/connectors/{connector.pk}/").content.decode()
    )
    old = clean_verification(SETTINGS["github"])
    body = b'{"id": "1"}'
    response = Client().post(
        f"/api/v1/ingest/{connector.slug}/",
        body,
        content_type="application/json",
        headers=sign_example(old, body, time.time()),
    )
    assert response.status_code == 202
    page = staff.get(f"/connectors/{connector.pk}/").content.decode()
    assert "The sender still uses the previous secret" in page
    connector.verification = clean_verification({**SETTINGS["github"], "secret": "the-new-secret"})
    connector.save()
    page = staff.get(f"/connectors/{connector.pk}/").content.decode()
    assert "previous-secret-notice" not in page


def test_it_shows_the_query_token_url_with_a_warning(staff):
    connector = make_connector("ingest_endpoint", "Forms")
    connector.verification = clean_verification({"scheme": "token", "allow_query_token": True})
    connector.save()
    page = staff.get(f"/connectors/{connector.pk}/").content.decode()
    assert f"/api/v1/ingest/{connector.slug}/?token=$TOKEN" in page
    assert "URLs end up in logs" in page


@pytest.mark.parametrize("scheme", SETTINGS)
def test_the_signing_script_on_the_page_is_accepted_by_the_endpoint(
    scheme, live_server, django_user_model
):
    connector = endpoint(scheme)
    alice = django_user_model.objects.create_user("alice", password="pw", is_staff=True)
    staff = Client()
    staff.force_login(alice)
    page = staff.get(f"/connectors/{connector.pk}/")
    script = page.context["curl_signed"].replace("http://testserver", live_server.url)
    assert SETTINGS[scheme].get("secret", "example password") not in script
    secret = SETTINGS[scheme].get("secret") or SETTINGS[scheme]["password"]
    env = {**os.environ, "SECRET": secret, "PASSWORD": secret}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 1, done.stdout
