"""The pages that look across every flow: the dashboard, the pipeline list with each one's health, the demo."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.kinds import REGISTRY
from connectors.models import Connector
from connectors.views import staff_required
from mailbox.models import backlog
from pipelines import demo
from pipelines.alerts.models import Incident
from pipelines.delivery.models import Delivery
from pipelines.mapping.models import Pipeline
from pipelines.runs.models import Run

FAILING = (Delivery.Status.FAILED, Delivery.Status.DEAD)

# --- Dashboard ----------------------------------------------------------------------------------


@staff_required
def dashboard(request):
    by_kind = dict(Connector.objects.values_list("kind").annotate(n=Count("id")))
    pipelines = Pipeline.objects.select_related("source", "destination")
    return render(
        request,
        "pipelines/dashboard.html",
        {
            "kinds": [
                {"name": name, "count": by_kind.get(name, 0), "kind": kind}
                for name, kind in REGISTRY.items()
            ],
            "connector_count": sum(by_kind.values()),
            "pipelines": [health(p) for p in pipelines],
            "recent_runs": Run.objects.select_related("source")[:8],
            "totals": Run.objects.aggregate(
                runs=Count("id"),
                rejected=Count("id", filter=Q(rejected__gt=0)),
            ),
            "failing": Delivery.objects.filter(status__in=FAILING).count(),
            "pending": Delivery.objects.filter(
                status__in=(Delivery.Status.PENDING, Delivery.Status.DELIVERING)
            ).count(),
            "incidents": Incident.objects.open().select_related("rule", "rule__pipeline"),
            "demo": demo.panel(request) if demo.exists() else None,
        },
    )


def health(pipeline: Pipeline) -> dict:
    """What the dashboard says about one pipeline: its last run, its backlog, failing deliveries."""
    deliveries = Delivery.objects.filter(pipeline=pipeline)
    return {
        "pipeline": pipeline,
        "last_run": Run.objects.filter(source=pipeline.source_id).first(),
        "backlog": backlog(pipeline.destination)
        if pipeline.destination.kind == Connector.Kind.MAILBOX
        else None,
        "failing": deliveries.filter(status__in=FAILING).count(),
        "pending": deliveries.filter(
            status__in=(Delivery.Status.PENDING, Delivery.Status.DELIVERING)
        ).count(),
    }


@staff_required
def pipeline_list(request):
    pipelines = Pipeline.objects.select_related("source", "destination").annotate(
        mapped=Count("mappings")
    )
    return render(request, "pipelines/list.html", {"rows": [health(p) for p in pipelines]})


# --- Demo workspace -------------------------------------------------------------------------------------


@staff_required
@require_POST
def demo_create(request):
    if demo.exists():
        messages.info(request, "The demo workspace is already there.")
        return redirect("ui:dashboard")
    tokens = demo.create(request.build_absolute_uri("/"))
    request.session[demo.SESSION_KEY] = tokens
    messages.success(request, "Demo workspace created. Send a few orders and watch them flow.")
    return redirect("ui:dashboard")


@staff_required
@require_POST
def demo_send(request):
    result = demo.send_sample_orders()
    messages.success(
        request,
        f"Sent {result['received']} demo orders: {result['accepted']} accepted, "
        f"{result['rejected']} rejected (on purpose: open the run to fix it).",
    )
    return redirect("ui:dashboard")


@staff_required
@require_POST
def demo_remove(request):
    removed = demo.remove()
    request.session.pop(demo.SESSION_KEY, None)
    messages.success(request, f"Removed the demo workspace ({removed} connectors and their data).")
    return redirect("ui:dashboard")


@csrf_exempt
def demo_echo(request, rest: str = ""):
    """A receiver for the demo's HTTP destination, served only under DEBUG: it answers 200 with
    what it got, and keeps the last few requests for the dashboard."""
    if not settings.DEBUG:
        raise Http404
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = request.body.decode("utf-8", errors="replace")
    demo.remember_echo(request.method, request.get_full_path(), dict(request.headers), body)
    return JsonResponse({"ok": True, "received": body})
