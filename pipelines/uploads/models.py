"""CSV files uploaded from the browser, processed by a worker."""

from __future__ import annotations

from django.db import models

from connectors.models import Connector
from pipelines.runs.models import Run


class Upload(models.Model):
    """A CSV file uploaded from the browser, turned into a run by a worker, with its progress."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="uploads")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    filename = models.CharField(max_length=255)
    # The file's text until a worker has read it; emptied afterwards (the run keeps the outcome).
    content = models.TextField(blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == Upload.Status.DONE:
            return 100
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0
