"""The channels' API: admins configure them and press test; the webhook is the channel's own
http_destination connector, signed and retried like any other."""

from __future__ import annotations

import json

from django.core import mail
from django_q.models import Schedule
from rest_framework.test import APIClient

from pipelines.alerts.models import AlertChannel, AlertRule
from pipelines.alerts.tasks import evaluate_rules
from pipelines.runs.models import Run
from tests.helpers import make_connector, make_pipeline

SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def hook(httpserver, **config):
    return make_connector(
        "http_destination",
        "Alerts hook",
        url=httpserver.url_for("/alerts"),
        method="POST",
        signing_secret=SECRET,
        **config,
    )


def test_an_admin_creates_an_email_channel_and_tests_it(admin_member, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = client_for(admin_member)
    response = client.post(
        "/api/v1/alert-channels/",
        {"name": "On call", "kind": "email", "addresses": ["oncall@example.com"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    test = client.post(f"/api/v1/alert-channels/{response.json()['id']}/test/")
    assert test.json() == {"delivered": True, "detail": "sent to oncall@example.com"}
    assert mail.outbox[0].subject == "[Test] A test alert from the channel On call"
    assert mail.outbox[0].to == ["oncall@example.com"]


def test_bad_channels_are_refused_with_the_field_named(admin_member, db):
    client = client_for(admin_member)
    no_address = client.post("/api/v1/alert-channels/", {"name": "x", "kind": "email"})
    assert no_address.status_code == 400 and "addresses" in no_address.json()
    bad = client.post(
        "/api/v1/alert-channels/",
        {"name": "x", "kind": "email", "addresses": ["not-an-address"]},
        format="json",
    )
    assert bad.status_code == 400 and "addresses" in bad.json()
    source = make_connector("ingest_endpoint", "Orders")
    not_a_destination = client.post(
        "/api/v1/alert-channels/",
        {"name": "x", "kind": "webhook", "connector": source.pk},
        format="json",
    )
    assert not_a_destination.status_code == 400 and "connector" in not_a_destination.json()


def test_the_webhook_test_is_signed_and_sent(admin_member, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/alerts", method="POST").respond_with_data("", status=204)
    channel = AlertChannel.objects.create(name="Hook", kind="webhook", connector=hook(httpserver))
    response = client_for(admin_member).post(f"/api/v1/alert-channels/{channel.pk}/test/")
    assert response.json() == {"delivered": True, "detail": "delivered (204)"}
    request, _ = httpserver.log[0]
    assert json.loads(request.data)["event"] == "test"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["Idempotency-Key"] == request.headers["webhook-id"]


def test_the_webhook_test_says_what_went_wrong(admin_member, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/alerts").respond_with_data("", status=500)
    channel = AlertChannel.objects.create(name="Hook", kind="webhook", connector=hook(httpserver))
    response = client_for(admin_member).post(f"/api/v1/alert-channels/{channel.pk}/test/")
    assert response.json() == {"delivered": False, "detail": "the receiver answered 500"}


def test_the_webhook_refuses_a_private_address_unless_allowed(admin_member, httpserver):
    channel = AlertChannel.objects.create(name="Hook", kind="webhook", connector=hook(httpserver))
    response = client_for(admin_member).post(f"/api/v1/alert-channels/{channel.pk}/test/")
    assert response.json()["delivered"] is False
    assert httpserver.log == []


def test_an_incident_reaches_the_webhook_once_and_a_failure_is_retried_later(
    db, httpserver, settings
):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_ordered_request("/alerts").respond_with_data("", status=503)
    connector = hook(httpserver, initial_backoff_seconds=30)
    AlertChannel.objects.create(name="Hook", kind="webhook", connector=connector)
    source = make_connector("http_source", "Feed", url="https://feed.example.com/", method="GET")
    make_pipeline(source, make_connector("mailbox"))
    AlertRule.objects.create(kind=AlertRule.Kind.PULL_FAILED)
    Run.objects.create(source=source, trigger="schedule", status="failed", error="timeout")
    evaluate_rules()
    evaluate_rules()
    assert len(httpserver.log) == 1
    alert = json.loads(httpserver.log[0][0].data)
    assert (
        alert["event"] == "opened" and alert["summary"] == "The last pull of Feed failed: timeout"
    )
    retry = Schedule.objects.get(func="pipelines.alerts.notify.send_webhook")
    assert retry.schedule_type == Schedule.ONCE
    assert "'event': 'opened'" in retry.args and retry.args.endswith(", 2)")


def test_a_viewer_and_an_editor_cannot_touch_channels(viewer, editor, db):
    channel = AlertChannel.objects.create(name="On call", kind="email", addresses=["a@b.example"])
    for user in (viewer, editor):
        client = client_for(user)
        assert client.get("/api/v1/alert-channels/").status_code == 403
        assert client.post(f"/api/v1/alert-channels/{channel.pk}/test/").status_code == 403
        assert client.delete(f"/api/v1/alert-channels/{channel.pk}/").status_code == 403
    assert AlertChannel.objects.count() == 1


def test_editors_configure_rules_and_viewers_read_them(viewer, editor, db):
    created = client_for(editor).post(
        "/api/v1/alert-rules/", {"kind": "rejected_share", "threshold": 5}, format="json"
    )
    assert created.status_code == 201
    assert client_for(viewer).get("/api/v1/alert-rules/").json()["results"][0]["threshold"] == 5
    refused = client_for(viewer).post("/api/v1/alert-rules/", {"kind": "pull_failed"})
    assert refused.status_code == 403
    bad = client_for(editor).post("/api/v1/alert-rules/", {"kind": "nonsense"})
    assert bad.status_code == 400 and "kind" in bad.json()
    assert client_for(viewer).get("/api/v1/incidents/").status_code == 200
