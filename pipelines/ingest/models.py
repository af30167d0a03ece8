"""What the ingest flow keeps of requests it refused: the last sender-verification failures."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from connectors.models import Connector


class VerificationFailure(models.Model):
    """A request to an ingest endpoint that did not prove its sender (a 401), for its page.

    Only the time, the scheme and the reason are kept: never a signature, a token or a secret
    (the reasons of `connectors.verification` carry none).
    """

    # Enough to see a pattern on the connector's page; older ones are pruned on every write.
    KEEP = 20

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    scheme = models.CharField(max_length=32)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-id"]
        # The connector page's "last failures" and the prune both read one connector, newest first.
        indexes = [models.Index(fields=["connector", "-id"], name="verification_failures")]

    def __str__(self) -> str:
        return f"{self.connector_id} {self.at:%Y-%m-%d %H:%M:%S}: {self.reason}"

    @classmethod
    def record(cls, connector: Connector, scheme: str, reason: str) -> VerificationFailure:
        failure = cls.objects.create(connector=connector, scheme=scheme, reason=reason[:300])
        oldest_kept = (
            cls.objects.filter(connector=connector)
            .order_by("-id")
            .values_list("id", flat=True)[cls.KEEP - 1 : cls.KEEP]
        )
        cls.objects.filter(connector=connector, id__lt=models.Subquery(oldest_kept)).delete()
        return failure

    @classmethod
    def latest(cls, connector: Connector):
        return cls.objects.filter(connector=connector)[: cls.KEEP]
