"""django-q2 `Schedule` rows kept in step with HTTP sources' `schedule`, through model signals.

One row per scheduled source, named after it, created, changed and removed with the connector
in the same transaction as the save, so the scheduler never sees a schedule of a source that
is gone. `{"every_minutes": N}` becomes Schedule.MINUTES, `{"cron": "..."}` Schedule.CRON.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from croniter import croniter
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django_q.models import Schedule

from connectors.models import Connector

PULL_TASK = "pipelines.pull.tasks.pull_source"
NAME_PREFIX = "pull-source-"
# A save touching none of these cannot change the schedule (token rotation, failure marks...).
SCHEDULE_FIELDS = frozenset({"kind", "schedule", "enabled"})


def schedule_name(connector_id: int) -> str:
    return f"{NAME_PREFIX}{connector_id}"


def wanted_schedule(connector: Connector) -> dict | None:
    """The Schedule fields this connector calls for, or None when it should have no schedule."""
    if (
        connector.kind != Connector.Kind.HTTP_SOURCE
        or not connector.enabled
        or not connector.schedule
    ):
        return None
    fields = {
        "func": PULL_TASK,
        "args": f"{connector.pk}, 'schedule'",
        "minutes": None,
        "cron": None,
    }
    if "every_minutes" in connector.schedule:
        return {
            **fields,
            "schedule_type": Schedule.MINUTES,
            "minutes": connector.schedule["every_minutes"],
        }
    return {**fields, "schedule_type": Schedule.CRON, "cron": connector.schedule["cron"]}


def next_run(fields: dict, *, created: bool) -> datetime:
    now = timezone.now()
    if fields["schedule_type"] == Schedule.CRON:
        # As django-q2 computes it: cron times are read in the project's time zone.
        return croniter(fields["cron"], timezone.localtime(now)).get_next(datetime)
    # A new source gets its first pull right away, as a first sync would; a changed interval
    # counts from now.
    return now if created else now + timedelta(minutes=fields["minutes"])


def sync_schedule(connector: Connector) -> Schedule | None:
    """Create, update or delete the connector's Schedule row; the row, if it has one."""
    name = schedule_name(connector.pk)
    fields = wanted_schedule(connector)
    if fields is None:
        Schedule.objects.filter(name=name).delete()
        return None
    schedule = Schedule.objects.filter(name=name).first()
    if schedule is None:
        return Schedule.objects.create(
            name=name, repeats=-1, next_run=next_run(fields, created=True), **fields
        )
    if any(getattr(schedule, key) != value for key, value in fields.items()):
        for key, value in fields.items():
            setattr(schedule, key, value)
        schedule.next_run = next_run(fields, created=False)
        schedule.save()
    return schedule


def sync_all_schedules() -> None:
    """Reconcile every row at once (after a data import, or from a deploy hook)."""
    wanted = set()
    for connector in Connector.objects.filter(kind=Connector.Kind.HTTP_SOURCE):
        if sync_schedule(connector) is not None:
            wanted.add(schedule_name(connector.pk))
    Schedule.objects.filter(name__startswith=NAME_PREFIX).exclude(name__in=wanted).delete()


@receiver(post_save, sender=Connector, dispatch_uid="pull_schedules.connector_saved")
def connector_saved(
    sender, instance: Connector, raw: bool = False, update_fields=None, **kwargs
) -> None:
    if raw or (update_fields is not None and not SCHEDULE_FIELDS & set(update_fields)):
        return
    sync_schedule(instance)


@receiver(post_delete, sender=Connector, dispatch_uid="pull_schedules.connector_deleted")
def connector_deleted(sender, instance: Connector, **kwargs) -> None:
    Schedule.objects.filter(name=schedule_name(instance.pk)).delete()
