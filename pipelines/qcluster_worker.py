"""What a qcluster worker process does when it starts, before its first task.

django-q2 forks each worker from the cluster process, so a worker starts with Django, every
app and their models already built: about 10^5 objects that live as long as the process.
Frozen (gc.freeze), the collector's full passes no longer walk them (30-90 ms each, the
pause the web workers had before they froze theirs too), and no longer write to their pages,
which forked workers otherwise copy one by one as the collector touches them.
"""

from __future__ import annotations

import gc
from importlib import import_module

from django_q.conf import Conf

# The modules of the tasks workers run, imported on the first task otherwise: loaded before
# the freeze, their objects are frozen with the rest.
TASK_MODULES = (
    "pipelines.delivery.tasks",
    "pipelines.pull.tasks",
    "pipelines.runs.tasks",
    "pipelines.alerts.tasks",
    "pipelines.alerts.notify",
    "pipelines.uploads.processing",
    "connectors.sample_request",
)


def freeze_startup_objects(sender, proc_name: str, **kwargs) -> None:
    """django-q2's post_spawn, in each new worker process."""
    # In sync mode (tests) post_spawn comes with every task, in the test's own process.
    if Conf.SYNC:
        return
    for module in TASK_MODULES:
        import_module(module)
    gc.freeze()
