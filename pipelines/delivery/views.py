"""The delivery pages: list, detail with every attempt, replay."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors import examples
from connectors.models import Connector
from connectors.query_params import id_filter, query_without_page
from connectors.views import is_fetch, staff_required
from pipelines.delivery.models import Delivery
from pipelines.delivery.replay import replay, replay_all
from pipelines.mapping.models import Pipeline

PAGE_SIZE = 50

# --- Deliveries ---------------------------------------------------------------------------------------


@staff_required
def delivery_list(request):
    deliveries = Delivery.objects.select_related("pipeline", "destination")
    filters = {
        "status": request.GET.get("status", ""),
        "pipeline": id_filter(request, "pipeline"),
        "destination": id_filter(request, "destination"),
        "run": id_filter(request, "run"),
    }
    if filters["status"] in Delivery.Status.values:
        deliveries = deliveries.filter(status=filters["status"])
    for key in ("pipeline", "destination", "run"):
        if filters[key] is not None:
            deliveries = deliveries.filter(**{f"{key}_id": filters[key]})
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    return render(
        request,
        "pipelines/deliveries.html",
        {
            "page": page,
            "deliveries": page.object_list,
            "filters": filters,
            "statuses": [
                (value, label, counts.get(value, 0)) for value, label in Delivery.Status.choices
            ],
            "pipelines": Pipeline.objects.filter(destination__kind=Connector.Kind.HTTP_DESTINATION),
            "query": query_without_page(request),
        },
    )


@staff_required
def delivery_detail(request, pk: int):
    delivery = get_object_or_404(
        Delivery.objects.select_related("pipeline", "destination", "run"), pk=pk
    )
    context = {
        "delivery": delivery,
        "attempts": delivery.attempt_log.all(),
        "records_json": examples.pretty(delivery.records),
        "final": delivery.status in Delivery.FINAL,
    }
    # The page's poller asks for the part that changes while the delivery is under way.
    template = "pipelines/_delivery_live.html" if is_fetch(request) else "pipelines/delivery.html"
    return render(request, template, context)


@staff_required
@require_POST
def delivery_replay(request, pk: int):
    delivery = get_object_or_404(Delivery, pk=pk)
    if replay(delivery):
        messages.success(
            request, f"Delivery #{delivery.pk} is queued again (same Idempotency-Key)."
        )
    else:
        messages.error(
            request, f"Delivery #{delivery.pk} is {delivery.status}: it is already on its way."
        )
    return redirect(request.POST.get("next") or reverse("ui:delivery", args=[pk]))


@staff_required
@require_POST
def delivery_replay_dead(request):
    dead = Delivery.objects.filter(status=Delivery.Status.DEAD)
    pipeline = request.POST.get("pipeline", "")
    if pipeline.isdigit():
        dead = dead.filter(pipeline_id=int(pipeline))
    replayed = replay_all(dead)
    messages.success(request, f"Replayed {replayed} dead deliver{'y' if replayed == 1 else 'ies'}.")
    return redirect(f"{reverse('ui:deliveries')}?status=pending")
