"""Each rule opens one incident per problem, notifies once, and sends a recovery notice when
the problem clears. The evaluation is run directly; time is moved with time_machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.core import mail

from pipelines.alerts.models import AlertRule, Incident
from pipelines.alerts.tasks import evaluate_rules
from pipelines.delivery.models import Delivery
from pipelines.ingest.models import VerificationFailure
from pipelines.runs.models import Run

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def disable(connector, reason: str) -> None:
    connector.enabled, connector.disabled_reason = False, reason
    connector.save()


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_a_dead_delivery_opens_one_incident_and_recovers(mailbox_channel, pipeline, destination):
    rule = AlertRule.objects.create(kind=AlertRule.Kind.DELIVERY_DEAD, minutes=30)
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            Delivery.objects.create(
                pipeline=pipeline, destination=destination, records=[{}], status="dead"
            )
        assert evaluate_rules() == {"opened": 1, "resolved": 0}
        assert evaluate_rules() == {"opened": 0, "resolved": 0}
    assert subjects() == ["[Alert] 2 deliveries to Shop API went dead in the last 30 minutes"]
    assert mail.outbox[0].to == ["oncall@example.com"]
    incident = Incident.objects.get()
    assert incident.rule == rule and incident.subject == f"connector:{destination.pk}"
    assert incident.last_notified_at is not None

    with time_machine.travel(START + timedelta(minutes=31), tick=False):
        assert evaluate_rules() == {"opened": 0, "resolved": 1}
        assert evaluate_rules() == {"opened": 0, "resolved": 0}
    assert subjects()[1].startswith("[Resolved] 2 deliveries to Shop API")
    assert Incident.objects.open().count() == 0


def test_a_disabled_destination_alerts_until_enabled(mailbox_channel, pipeline, destination):
    AlertRule.objects.create(kind=AlertRule.Kind.DESTINATION_DISABLED, pipeline=pipeline)
    disable(destination, "it answered 410 Gone")
    evaluate_rules()
    evaluate_rules()
    assert subjects() == ["[Alert] The destination Shop API is disabled: it answered 410 Gone"]
    destination.enabled = True
    destination.save()
    evaluate_rules()
    assert len(subjects()) == 2 and subjects()[1].startswith("[Resolved]")


def test_a_failed_pull_alerts_until_a_pull_succeeds(mailbox_channel, pipeline, source):
    AlertRule.objects.create(kind=AlertRule.Kind.PULL_FAILED)
    Run.objects.create(source=source, trigger=Run.Trigger.SCHEDULE, status="failed", error="503")
    evaluate_rules()
    evaluate_rules()
    assert subjects() == ["[Alert] The last pull of Orders failed: 503"]
    Run.objects.create(source=source, trigger=Run.Trigger.SCHEDULE, status="succeeded")
    evaluate_rules()
    assert subjects()[1] == "[Resolved] The last pull of Orders failed: 503"


def test_rejections_above_the_share_alert(mailbox_channel, pipeline, source):
    AlertRule.objects.create(kind=AlertRule.Kind.REJECTED_SHARE, threshold=10)
    Run.objects.create(source=source, trigger="ingest", status="partial", received=10, rejected=1)
    evaluate_rules()
    assert subjects() == []
    Run.objects.create(source=source, trigger="ingest", status="partial", received=10, rejected=2)
    evaluate_rules()
    evaluate_rules()
    assert subjects() == ["[Alert] The last run of Orders rejected 2 of 10 records (more than 10%)"]
    Run.objects.create(source=source, trigger="ingest", status="succeeded", received=10)
    evaluate_rules()
    assert subjects()[1].startswith("[Resolved] The last run of Orders rejected 2")


def test_a_silent_source_alerts_until_records_arrive(mailbox_channel, source, destination):
    with time_machine.travel(START, tick=False):
        from tests.helpers import make_pipeline

        make_pipeline(source, destination)
        source.__class__.objects.filter(pk=source.pk).update(created_at=START)
        AlertRule.objects.create(kind=AlertRule.Kind.SOURCE_SILENT, minutes=60)
        Run.objects.create(source=source, trigger="ingest", status="succeeded", received=3)
        evaluate_rules()
    with time_machine.travel(START + timedelta(minutes=59), tick=False):
        evaluate_rules()
        assert subjects() == []
    with time_machine.travel(START + timedelta(minutes=61), tick=False):
        evaluate_rules()
        evaluate_rules()
        assert subjects() == ["[Alert] Orders received no records in the last 60 minutes"]
        Run.objects.create(source=source, trigger="ingest", status="succeeded", received=1)
        evaluate_rules()
    assert subjects()[1].startswith("[Resolved] Orders received no records")


def test_signature_failures_alert_from_the_threshold(mailbox_channel, pipeline, source):
    AlertRule.objects.create(kind=AlertRule.Kind.SIGNATURE_FAILURES, threshold=2, minutes=10)
    with time_machine.travel(START, tick=False):
        VerificationFailure.record(source, "hmac", "the signature does not match")
        evaluate_rules()
        assert subjects() == []
        VerificationFailure.record(source, "hmac", "the signature does not match")
        evaluate_rules()
        evaluate_rules()
        assert subjects() == [
            "[Alert] 2 requests to Orders failed verification in the last 10 minutes"
        ]
    with time_machine.travel(START + timedelta(minutes=11), tick=False):
        evaluate_rules()
    assert subjects()[1].startswith("[Resolved] 2 requests to Orders")


def test_a_rule_of_another_pipeline_sees_nothing(mailbox_channel, pipeline, destination):
    from tests.helpers import make_connector, make_pipeline

    other = make_pipeline(make_connector("ingest_endpoint", "Other"), make_connector("mailbox"))
    AlertRule.objects.create(kind=AlertRule.Kind.DESTINATION_DISABLED, pipeline=other)
    disable(destination, "gone")
    evaluate_rules()
    assert subjects() == []


def test_disabling_a_rule_resolves_its_incidents(mailbox_channel, pipeline, destination):
    rule = AlertRule.objects.create(kind=AlertRule.Kind.DESTINATION_DISABLED)
    disable(destination, "gone")
    evaluate_rules()
    rule.enabled = False
    rule.save()
    assert evaluate_rules() == {"opened": 0, "resolved": 1}
    assert subjects()[1].startswith("[Resolved]")
