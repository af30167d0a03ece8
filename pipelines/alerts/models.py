"""Alert channels (where alerts go), rules (what is watched) and incidents (one per problem)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from connectors.models import Connector
from pipelines.mapping.models import Pipeline


class AlertChannel(models.Model):
    """Where alerts go: a list of email addresses, or an http_destination connector of its own
    (so the webhook is signed, SSRF-guarded and retried like any destination)."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    # email
    addresses = models.JSONField(default=list, blank=True)
    # webhook
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, null=True, blank=True, related_name="alert_channels"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AlertRule(models.Model):
    """A condition watched every minute, for one pipeline or (no pipeline) for all of them."""

    class Kind(models.TextChoices):
        DELIVERY_DEAD = "delivery_dead", "A delivery went dead"
        DESTINATION_DISABLED = "destination_disabled", "A destination was disabled"
        PULL_FAILED = "pull_failed", "A pull run failed"
        REJECTED_SHARE = "rejected_share", "Rejected records above a share of a run"
        SOURCE_SILENT = "source_silent", "No records received for a while"
        SIGNATURE_FAILURES = "signature_failures", "Signature failures on an ingest endpoint"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    # rejected_share: the percent of a run's records; signature_failures: failures in the window.
    threshold = models.PositiveIntegerField(default=1)
    # delivery_dead, signature_failures: the window looked at; source_silent: the silence allowed.
    minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        scope = self.pipeline.name if self.pipeline_id else "all pipelines"
        return f"{self.get_kind_display()} ({scope})"


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)


class Incident(models.Model):
    """One problem of one subject (a connector) under one rule: opened and notified once,
    resolved with a recovery notice when the condition clears."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    # What the problem is about, e.g. "connector:12".
    subject = models.CharField(max_length=64)
    summary = models.CharField(max_length=500)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One open incident per rule and subject: the evaluation opens it once.
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_incident",
            )
        ]
        indexes = [
            # The dashboard and each evaluation read the open incidents.
            models.Index(fields=["resolved_at"], name="incident_open"),
        ]

    def __str__(self) -> str:
        return f"Incident {self.pk}: {self.summary}"
