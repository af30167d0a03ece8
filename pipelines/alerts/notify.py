"""Telling the channels: an email to a list of addresses, or a request of the channel's own
http_destination connector (rendered, signed and sent through connectors.outbound, retried
with that connector's attempts and backoff).

An alert is a small dict: `event` (opened, resolved, test), `summary`, `rule`, `subject`,
`incident`, `at`, `id`. The webhook's body is that dict (or the connector's body template over
it); its Idempotency-Key and webhook-id are the alert's `id`, the same on every retry.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from connectors import http, outbound
from pipelines.alerts.models import AlertChannel, Incident

logger = logging.getLogger("pipelines.alerts")

SUBJECTS = {
    "opened": "[Alert] {summary}",
    "resolved": "[Resolved] {summary}",
    "test": "[Test] {summary}",
}


def alert_for(incident: Incident, event: str) -> dict:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"incident-{incident.pk}-{event}")),
        "event": event,
        "summary": incident.summary,
        "rule": incident.rule.kind,
        "pipeline": incident.rule.pipeline_id,
        "subject": incident.subject,
        "incident": incident.pk,
        "at": timezone.now().isoformat(),
    }


def test_alert(channel: AlertChannel) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "event": "test",
        "summary": f"A test alert from the channel {channel.name}",
        "rule": "",
        "pipeline": None,
        "subject": "",
        "incident": None,
        "at": timezone.now().isoformat(),
    }


def notify_all(alert: dict) -> None:
    """Every enabled channel; one channel that fails never keeps the others from being told."""
    for channel in AlertChannel.objects.filter(enabled=True).select_related("connector"):
        if channel.kind == AlertChannel.Kind.EMAIL:
            try:
                send_email(channel, alert)
            except Exception:
                logger.exception("alert email of channel=%s not sent", channel.pk)
        else:
            async_task("pipelines.alerts.notify.send_webhook", channel.pk, alert, group="alerts")


def send_email(channel: AlertChannel, alert: dict) -> None:
    lines = [alert["summary"], "", f"Event: {alert['event']}", f"At: {alert['at']}"]
    if alert["rule"]:
        lines.append(f"Rule: {alert['rule']}")
    send_mail(
        SUBJECTS[alert["event"]].format(summary=alert["summary"])[:200],
        "\n".join(lines),
        settings.DEFAULT_FROM_EMAIL,
        channel.addresses,
    )


def post_webhook(channel: AlertChannel, alert: dict) -> tuple[bool, bool, str]:
    """One request: (delivered, worth retrying, what happened)."""
    connector = channel.connector
    try:
        request = outbound.render_request(connector, [alert], idempotency_key=alert["id"])
        response = request.send(
            timeout=connector.timeout_seconds, cache_key=f"connector-{connector.pk}"
        )
    except outbound.RenderError as exc:
        return False, False, f"the alert cannot be rendered: {exc}"
    except http.TransportError as exc:
        return False, exc.retryable, exc.message
    if response.ok:
        return True, False, f"delivered ({response.status})"
    retryable = response.status == 429 or response.status >= 500
    return False, retryable, f"the receiver answered {response.status}"


def send_webhook(channel_id: int, alert: dict, attempt: int = 1) -> None:
    """A task: send, and on a retryable failure try again later with the connector's backoff,
    up to its max_attempts (django-q2 runs the retry from a one-off Schedule row)."""
    channel = AlertChannel.objects.select_related("connector").filter(pk=channel_id).first()
    if channel is None or channel.connector is None:
        return
    delivered, retryable, detail = post_webhook(channel, alert)
    if delivered:
        return
    connector = channel.connector
    if not retryable or attempt >= connector.max_attempts:
        logger.warning(
            "alert=%s to channel=%s given up after %s attempts: %s",
            alert["id"],
            channel_id,
            attempt,
            detail,
        )
        return
    delay = connector.initial_backoff_seconds * 2 ** (attempt - 1)
    Schedule.objects.create(
        name=f"alert-{alert['id']}-{attempt + 1}",
        func="pipelines.alerts.notify.send_webhook",
        args=repr((channel_id, alert, attempt + 1)),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=timezone.now() + timedelta(seconds=delay),
    )


def send_test(channel: AlertChannel) -> tuple[bool, str]:
    """The test button: one alert sent now, and what happened."""
    alert = test_alert(channel)
    if channel.kind == AlertChannel.Kind.EMAIL:
        try:
            send_email(channel, alert)
        except Exception as exc:
            return False, f"the email could not be sent: {type(exc).__name__}"
        return True, f"sent to {', '.join(channel.addresses)}"
    delivered, _, detail = post_webhook(channel, alert)
    return delivered, detail
