"""Delivered deliveries are forgotten after DELIVERY_RETENTION_DAYS, payloads and attempts with
them; the ones still to act on (failed, dead, pending) stay."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from pipelines.delivery import tasks
from pipelines.delivery.models import Delivery, DeliveryAttempt, DeliveryPayload
from tests.pipelines.delivery.destinations import make_delivery, make_destination


def delivery_in(destination, status: str, delivered_days_ago: int | None = None) -> Delivery:
    delivery = make_delivery(destination, [{"id": 1}])
    fields = {"status": status}
    if delivered_days_ago is not None:
        fields["delivered_at"] = timezone.now() - timedelta(days=delivered_days_ago)
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    DeliveryAttempt.objects.create(delivery=delivery, number=1, status_code=200)
    return delivery


def test_it_forgets_old_delivered_deliveries_only(db, settings, monkeypatch):
    settings.DELIVERY_RETENTION_DAYS = 30
    monkeypatch.setattr(tasks, "PURGE_BATCH", 2)  # several batches
    destination = make_destination("https://example.com/hook")
    old = [delivery_in(destination, "delivered", 31) for _ in range(3)]
    recent = delivery_in(destination, "delivered", 29)
    dead = delivery_in(destination, "dead", 90)
    failed = delivery_in(destination, "failed", 90)
    pending = delivery_in(destination, "pending")

    assert tasks.purge_old_deliveries() == 3

    kept = {recent.pk, dead.pk, failed.pk, pending.pk}
    assert set(Delivery.objects.values_list("pk", flat=True)) == kept
    assert set(DeliveryPayload.objects.values_list("delivery_id", flat=True)) == kept
    assert set(DeliveryAttempt.objects.values_list("delivery_id", flat=True)) == kept
    assert not any(Delivery.objects.filter(pk=d.pk).exists() for d in old)


def test_it_runs_every_day(db):
    schedule = Schedule.objects.get(name="purge-old-deliveries")
    assert schedule.func == "pipelines.delivery.tasks.purge_old_deliveries"
    assert schedule.schedule_type == Schedule.DAILY
