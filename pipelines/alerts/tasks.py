"""The evaluation, every minute (pipelines.schedules): open an incident and notify once when a
rule's condition starts, resolve it and send a recovery notice when it clears."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.alerts import notify, rules
from pipelines.alerts.models import AlertRule, Incident


def evaluate_rules(now=None) -> dict[str, int]:
    """One pass over the enabled rules; how many incidents it opened and resolved."""
    now = now or timezone.now()
    opened = resolved = 0
    open_incidents = {}
    for incident in Incident.objects.open().select_related("rule"):
        open_incidents[(incident.rule_id, incident.subject)] = incident
    for rule in AlertRule.objects.filter(enabled=True).select_related("pipeline"):
        trouble = rules.in_trouble(rule, now)
        for subject, summary in trouble.items():
            if (rule.pk, subject) not in open_incidents and open_incident(
                rule, subject, summary, now
            ):
                opened += 1
        for (rule_id, subject), incident in open_incidents.items():
            if rule_id == rule.pk and subject not in trouble and resolve(incident, now):
                resolved += 1
    # Incidents of rules since disabled: nobody watches them any more.
    for incident in open_incidents.values():
        if not incident.rule.enabled and resolve(incident, now):
            resolved += 1
    return {"opened": opened, "resolved": resolved}


def open_incident(rule: AlertRule, subject: str, summary: str, now) -> Incident | None:
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                rule=rule, subject=subject, summary=summary[:500], opened_at=now
            )
    except IntegrityError:
        # Another evaluation opened it first (the constraint one_open_incident): it notifies.
        return None
    notify.notify_all(notify.alert_for(incident, "opened"))
    Incident.objects.filter(pk=incident.pk).update(last_notified_at=timezone.now())
    return incident


def resolve(incident: Incident, now) -> bool:
    # Guarded: a second evaluation running at once resolves nothing and sends nothing.
    if not Incident.objects.filter(pk=incident.pk, resolved_at__isnull=True).update(
        resolved_at=now
    ):
        return False
    incident.resolved_at = now
    notify.notify_all(notify.alert_for(incident, "resolved"))
    Incident.objects.filter(pk=incident.pk).update(last_notified_at=timezone.now())
    return True
