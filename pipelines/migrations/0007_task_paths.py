"""The task functions moved into their flows' packages: point existing schedules at them.

Only the dotted paths stored in django-q2's Schedule rows change; no table of ours does.
"""

from django.db import migrations

MOVED = {
    "pipelines.tasks.sweep_deliveries": "pipelines.delivery.tasks.sweep_deliveries",
    "pipelines.tasks.deliver_many": "pipelines.delivery.tasks.deliver_many",
    "pipelines.tasks.purge_old_runs": "pipelines.runs.tasks.purge_old_runs",
    "pipelines.tasks.pull_source": "pipelines.pull.tasks.pull_source",
    "pipelines.tasks.sample_source": "pipelines.pull.tasks.sample_source",
}


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.filter(func=old).update(func=new)


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.filter(func=new).update(func=old)


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0006_delivery_payload"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
