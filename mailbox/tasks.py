"""Background work of the mailbox app (django-q2)."""

from __future__ import annotations

import logging

from connectors.models import Connector
from mailbox.models import purge_acknowledged_records

log = logging.getLogger(__name__)


def purge_acknowledged() -> int:
    """Purge, in every mailbox, the records all its consumers acknowledged and the retention let go.

    Scheduled by django-q2; safe to run twice or concurrently (a purge only deletes).
    Returns how many records were deleted.
    """
    purged = 0
    for mailbox in Connector.objects.filter(kind=Connector.Kind.MAILBOX).only(
        "pk", "retention_days"
    ):
        purged += purge_acknowledged_records(mailbox)
    if purged:
        log.info("Purged %d acknowledged mailbox records", purged)
    return purged
