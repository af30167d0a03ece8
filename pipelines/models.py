"""Every model of the app, for Django's registry: each flow keeps its own in its package."""

from pipelines.alerts.models import AlertChannel, AlertRule, Incident
from pipelines.delivery.models import Delivery, DeliveryAttempt, DeliveryPayload
from pipelines.ingest.models import VerificationFailure
from pipelines.mapping.models import Mapping, Pipeline
from pipelines.pull.models import PullLock, SeenKey
from pipelines.runs.models import IdempotencyKey, RecordError, Run, RunStat
from pipelines.uploads.models import Upload

__all__ = [
    "AlertChannel",
    "AlertRule",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryPayload",
    "IdempotencyKey",
    "Incident",
    "Mapping",
    "Pipeline",
    "PullLock",
    "RecordError",
    "Run",
    "RunStat",
    "SeenKey",
    "Upload",
    "VerificationFailure",
]
