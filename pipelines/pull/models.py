"""What pulling an HTTP source keeps between runs: the records already seen, and the lock."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from connectors.models import Connector
from connectors.prepared import PreparedInsert
from pipelines.runs.models import Run


class SeenKey(models.Model):
    """A record an HTTP source already passed on, kept as a hash for de-duplication across runs."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    # 128 bits of BLAKE2b over the primary key (and cursor value): compact, collisions negligible.
    key_hash = models.CharField(max_length=32)

    class Meta:
        constraints = [
            # Also the index of each page's lookup: WHERE connector_id = ? AND key_hash IN (...).
            models.UniqueConstraint(fields=["connector", "key_hash"], name="one_seen_key")
        ]

    def __str__(self) -> str:
        return f"{self.connector_id}:{self.key_hash}"


class PullLock(models.Model):
    """The run pulling an HTTP source right now, under a lease: never two runs of one source at once.

    Claimed and renewed with guarded updates; a worker that dies stops renewing, and the
    lease running out frees the source for the next run.
    """

    connector = models.OneToOneField(
        Connector, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Pull lock of {self.connector_id} (run {self.run_id})"

    @classmethod
    def acquire(cls, run: Run, lease_seconds: float) -> bool:
        """Take the source for `run` if it is free or its holder's lease ran out."""
        now = timezone.now()
        cls.objects.get_or_create(connector_id=run.source_id)
        free = models.Q(run__isnull=True) | models.Q(lease_expires_at__lte=now)
        taken = cls.objects.filter(free, connector_id=run.source_id).update(
            run=run, lease_expires_at=now + timedelta(seconds=lease_seconds)
        )
        return taken == 1

    @classmethod
    def renew(cls, run: Run, lease_seconds: float) -> bool:
        """Extend the lease; False when `run` lost it (it ran out and another run took over)."""
        expires = timezone.now() + timedelta(seconds=lease_seconds)
        return (
            cls.objects.filter(connector_id=run.source_id, run=run).update(lease_expires_at=expires)
            == 1
        )

    @classmethod
    def release(cls, run: Run) -> None:
        cls.objects.filter(connector_id=run.source_id, run=run).update(
            run=None, lease_expires_at=None
        )

    @classmethod
    def holder(cls, connector: Connector) -> int | None:
        """The id of the run holding a live lease on `connector`, if any."""
        lock = cls.objects.filter(connector=connector, lease_expires_at__gt=timezone.now()).first()
        return lock.run_id if lock else None


# A page's new keys, written with the page (`.many`: why not bulk_create, connectors/prepared.py).
INSERT_SEEN_KEYS = PreparedInsert(SeenKey)
