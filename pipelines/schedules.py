"""The periodic tasks every installation runs, as django-q2 `Schedule` rows kept after each migrate."""

from __future__ import annotations

from django.db import transaction
from django_q.models import Schedule

# name: (function, schedule type, minutes for the Minutes type)
SCHEDULES = {
    "sweep-deliveries": ("pipelines.delivery.tasks.sweep_deliveries", Schedule.MINUTES, 1),
    "evaluate-alerts": ("pipelines.alerts.tasks.evaluate_rules", Schedule.MINUTES, 1),
    "purge-mailboxes": ("mailbox.tasks.purge_acknowledged", Schedule.HOURLY, None),
    "purge-old-runs": ("pipelines.runs.tasks.purge_old_runs", Schedule.DAILY, None),
    "purge-old-deliveries": ("pipelines.delivery.tasks.purge_old_deliveries", Schedule.DAILY, None),
    "purge-audit-log": ("connectors.audit.purge_old_entries", Schedule.DAILY, None),
}


@transaction.atomic
def ensure_schedules() -> None:
    """Create the rows, or put back their function and period; a row's next run is left alone."""
    for name, (func, schedule_type, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": schedule_type,
                "minutes": minutes,
                "repeats": -1,
            },
        )


def ensure_schedules_after_migrate(sender, **kwargs) -> None:
    ensure_schedules()
