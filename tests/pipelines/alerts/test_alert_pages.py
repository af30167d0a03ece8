"""The alerts pages and the dashboard's open incidents."""

from __future__ import annotations

from django.core import mail
from django.test import Client

from pipelines.alerts.models import AlertChannel, AlertRule, Incident


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_open_incidents_only(viewer):
    rule = AlertRule.objects.create(kind=AlertRule.Kind.PULL_FAILED)
    Incident.objects.create(
        rule=rule, subject="connector:1", summary="The last pull of Feed failed"
    )
    Incident.objects.create(
        rule=rule, subject="connector:2", summary="Old news", resolved_at="2026-01-01T00:00Z"
    )
    page = client_for(viewer).get("/").content.decode()
    assert "Open incidents" in page and "The last pull of Feed failed" in page
    assert "Old news" not in page


def test_an_editor_adds_a_rule_and_a_viewer_cannot(viewer, editor):
    assert client_for(viewer).post("/alerts/", {"kind": "pull_failed"}).status_code == 403
    response = client_for(editor).post(
        "/alerts/", {"kind": "rejected_share", "threshold": 20, "minutes": 60}
    )
    assert response.status_code == 302
    assert AlertRule.objects.get().threshold == 20
    assert "Rejected records above" in client_for(viewer).get("/alerts/").content.decode()


def test_only_admins_see_and_test_channels(editor, admin_member, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert client_for(editor).get("/alerts/channels/").status_code == 403
    admin = client_for(admin_member)
    response = admin.post(
        "/alerts/channels/",
        {"name": "On call", "kind": "email", "addresses_text": "a@example.com, b@example.com"},
    )
    assert response.status_code == 302
    channel = AlertChannel.objects.get()
    assert channel.addresses == ["a@example.com", "b@example.com"]
    assert client_for(editor).post(f"/alerts/channels/{channel.pk}/test/").status_code == 403
    page = admin.post(f"/alerts/channels/{channel.pk}/test/", follow=True).content.decode()
    assert "Test alert: sent to a@example.com, b@example.com" in page
    assert len(mail.outbox) == 1


def test_a_channel_form_names_what_is_wrong(admin_member):
    page = (
        client_for(admin_member)
        .post("/alerts/channels/", {"name": "Hook", "kind": "webhook"})
        .content.decode()
    )
    assert "A webhook channel needs an HTTP destination." in page
    page = (
        client_for(admin_member)
        .post("/alerts/channels/", {"name": "On call", "kind": "email", "addresses_text": "nope"})
        .content.decode()
    )
    assert "Enter valid email addresses." in page
    assert AlertChannel.objects.count() == 0
