"""`/healthz` for load balancers and monitors, `/metrics` for Prometheus.

Both answer without a user session: `/healthz` shows no data, only whether each part is
up; `/metrics` is closed with `METRICS_TOKEN` when that is set (or at the proxy).
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from osmosproject.metrics import exposition
from pipelines.delivery.models import Delivery


def check_database() -> dict:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker() -> dict:
    from django_q.brokers import get_broker

    broker = get_broker()
    # The ORM broker's ping is a no-op; counting its queue is what reaches it.
    broker.ping()
    return {"ok": True, "broker": broker.info(), "queued": broker.queue_size() or 0}


def check_workers() -> dict:
    """The workers' heartbeat: the last task a worker finished.

    The delivery sweeper is scheduled every minute, so a live cluster finishes a task at
    least that often even when idle; pruning of saved results drops the oldest, never the
    newest. With any broker the results are saved in the database, which every web server sees.
    """
    from django_q.models import Task

    max_age = timedelta(seconds=settings.HEALTHZ_WORKER_MAX_AGE_SECONDS)
    last = Task.objects.aggregate(last=Max("stopped"))["last"]
    if last is None:
        return {"ok": False, "error": "No worker has finished a task yet: is `qcluster` running?"}
    age = (timezone.now() - last).total_seconds()
    result = {
        "ok": age <= max_age.total_seconds(),
        "last_task_at": last.isoformat(),
        "age_seconds": round(age),
    }
    if not result["ok"]:
        result["error"] = (
            f"No worker has finished a task for {round(age)} s: is `qcluster` running?"
        )
    return result


CHECKS = {"database": check_database, "broker": check_broker, "workers": check_workers}


def run_check(check) -> dict:
    try:
        return check()
    except Exception as exc:
        # A health check reports a failure, it does not become one (no 500, no traceback).
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


# Exempt from CSRF so that a POST gets the honest 405, not a 403 about a missing token.
@csrf_exempt
@require_GET
def healthz(request):
    results = {name: run_check(check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "checks": results},
        status=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


@csrf_exempt
@require_GET
def metrics(request):
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401)
    return HttpResponse(exposition(Delivery.objects.waiting), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]
