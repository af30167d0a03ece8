"""What each rule watches: the subjects (connectors) in trouble right now, each with a summary.

Each check is a few indexed queries over the pipelines in the rule's scope; the evaluation
(pipelines.alerts.tasks) compares the answer with the open incidents.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max
from django.utils import timezone

from connectors.models import Connector
from pipelines.alerts.models import AlertRule
from pipelines.delivery.models import Delivery
from pipelines.ingest.models import VerificationFailure
from pipelines.mapping.models import Pipeline
from pipelines.runs.models import Run

Kind = AlertRule.Kind


def subject(connector_id: int) -> str:
    return f"connector:{connector_id}"


def _pipelines(rule: AlertRule):
    pipelines = Pipeline.objects.all()
    return pipelines.filter(pk=rule.pipeline_id) if rule.pipeline_id else pipelines


def _sources(rule: AlertRule) -> set[int]:
    return set(_pipelines(rule).values_list("source_id", flat=True))


def _destinations(rule: AlertRule) -> set[int]:
    return set(_pipelines(rule).values_list("destination_id", flat=True))


def _names(ids) -> dict[int, str]:
    return dict(Connector.objects.filter(pk__in=ids).values_list("pk", "name"))


def delivery_dead(rule: AlertRule, now) -> dict[str, str]:
    dead = dict(
        Delivery.objects.dead_since(now - timedelta(minutes=rule.minutes))
        .filter(destination__in=_destinations(rule))
        .values_list("destination")
        .annotate(n=Count("id"))
        .order_by()
    )
    names = _names(dead)
    return {
        subject(pk): f"{n} deliveries to {names[pk]} went dead in the last {rule.minutes} minutes"
        for pk, n in dead.items()
    }


def destination_disabled(rule: AlertRule, now) -> dict[str, str]:
    disabled = Connector.objects.filter(
        pk__in=_destinations(rule), kind=Connector.Kind.HTTP_DESTINATION, enabled=False
    )
    return {
        subject(c.pk): f"The destination {c.name} is disabled"
        + (f": {c.disabled_reason}" if c.disabled_reason else "")
        for c in disabled
    }


def _last_runs(sources, **filters) -> list[Run]:
    """The latest finished run of each source: one query per source, on the index run_source_recent."""
    runs = []
    for source_id in sources:
        run = (
            Run.objects.filter(source_id=source_id, **filters)
            .exclude(status=Run.Status.RUNNING)
            .select_related("source")
            .first()
        )
        if run:
            runs.append(run)
    return runs


def pull_failed(rule: AlertRule, now) -> dict[str, str]:
    pulls = (Run.Trigger.SCHEDULE, Run.Trigger.MANUAL)
    return {
        subject(run.source_id): f"The last pull of {run.source.name} failed: {run.error[:200]}"
        for run in _last_runs(_sources(rule), trigger__in=pulls)
        if run.status == Run.Status.FAILED
    }


def rejected_share(rule: AlertRule, now) -> dict[str, str]:
    found = {}
    for run in _last_runs(_sources(rule)):
        if run.received and run.rejected * 100 > rule.threshold * run.received:
            found[subject(run.source_id)] = (
                f"The last run of {run.source.name} rejected {run.rejected} of "
                f"{run.received} records (more than {rule.threshold}%)"
            )
    return found


def source_silent(rule: AlertRule, now) -> dict[str, str]:
    sources = _sources(rule)
    since = now - timedelta(minutes=rule.minutes)
    last = dict(
        Run.objects.filter(source__in=sources, received__gt=0)
        .values_list("source")
        .annotate(at=Max("started_at"))
        .order_by()
    )
    # A source created within the window has not been silent for the whole of it.
    quiet = Connector.objects.filter(pk__in=sources, created_at__lt=since)
    return {
        subject(c.pk): f"{c.name} received no records in the last {rule.minutes} minutes"
        for c in quiet
        if last.get(c.pk) is None or last[c.pk] < since
    }


def signature_failures(rule: AlertRule, now) -> dict[str, str]:
    failures = dict(
        VerificationFailure.objects.filter(
            connector__in=_sources(rule), at__gte=now - timedelta(minutes=rule.minutes)
        )
        .values_list("connector")
        .annotate(n=Count("id"))
        .order_by()
    )
    names = _names(failures)
    return {
        subject(pk): f"{n} requests to {names[pk]} failed verification "
        f"in the last {rule.minutes} minutes"
        for pk, n in failures.items()
        if n >= max(1, rule.threshold)
    }


CHECKS = {
    Kind.DELIVERY_DEAD: delivery_dead,
    Kind.DESTINATION_DISABLED: destination_disabled,
    Kind.PULL_FAILED: pull_failed,
    Kind.REJECTED_SHARE: rejected_share,
    Kind.SOURCE_SILENT: source_silent,
    Kind.SIGNATURE_FAILURES: signature_failures,
}


def in_trouble(rule: AlertRule, now=None) -> dict[str, str]:
    return CHECKS[rule.kind](rule, now or timezone.now())
