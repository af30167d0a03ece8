"""Schedules written before the tasks moved into their flows' packages still run after migrate."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_q.models import Schedule

from pipelines.pull import tasks as pull_tasks


@pytest.mark.django_db(transaction=True)
def test_it_points_old_pull_schedules_at_the_moved_task():
    executor = MigrationExecutor(connection)
    executor.migrate([("pipelines", "0006_delivery_payload")])
    Schedule.objects.create(name="pull-source-7", func="pipelines.tasks.pull_source", args="7")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    func = Schedule.objects.get(name="pull-source-7").func
    assert func == "pipelines.pull.tasks.pull_source"
    module, _, name = func.rpartition(".")
    assert getattr(pull_tasks, name) and module == pull_tasks.__name__
