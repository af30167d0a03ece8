"""The audit log's table (the recording is `connectors.audit`, docs/teams.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One change of configuration, or one action (replay, resend, rotation)."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=300, help_text="Who: a user, a user's token, a command")
    # Kept when the user is deleted: `actor` still names them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True)
    object_name = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        # Nobody adds, changes or deletes an entry; the retention purge is the app's own.
        default_permissions = ("view",)
        indexes = [
            # The audit list, newest first; the retention purge.
            models.Index(fields=["at"], name="audit_at"),
            # The history of one object (`?object_type=connector&object_id=3`).
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type} {self.object_name}"
