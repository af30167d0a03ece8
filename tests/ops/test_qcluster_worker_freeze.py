"""A qcluster worker freezes what it inherited from the cluster process, as a web worker does."""

from __future__ import annotations

import gc
import sys

import pytest
from django_q.conf import Conf
from django_q.signals import post_spawn

from pipelines.qcluster_worker import TASK_MODULES, freeze_startup_objects


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_new_worker_imports_its_task_modules_and_freezes_them(monkeypatch, unfrozen):
    monkeypatch.setattr(Conf, "SYNC", False)
    freeze_startup_objects(sender="django_q", proc_name="Process-1:1")
    assert gc.get_freeze_count() > 10_000
    assert all(module in sys.modules for module in TASK_MODULES)


def test_tasks_run_inline_in_tests_freeze_nothing(monkeypatch, unfrozen):
    monkeypatch.setattr(Conf, "SYNC", True)
    freeze_startup_objects(sender="django_q", proc_name="Process-1:1")
    assert gc.get_freeze_count() == 0


def test_it_runs_when_a_worker_spawns():
    assert any(key[0] == "pipelines.freeze_on_start" for key, *_ in post_spawn.receivers)
