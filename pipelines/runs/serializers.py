"""The management API's shapes of runs and rejected records."""

from __future__ import annotations

from rest_framework import serializers

from pipelines.runs.models import RecordError, Run


class RunSerializer(serializers.ModelSerializer):
    pipelines = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "source",
            "trigger",
            "status",
            "received",
            "accepted",
            "rejected",
            "delivered",
            "failed",
            "pages",
            "error",
            "detail",
            "idempotency_key",
            "started_at",
            "finished_at",
            "pipelines",
        ]

    def get_pipelines(self, run) -> list[dict]:
        return [
            {
                "pipeline": stat.pipeline_id,
                "accepted": stat.accepted,
                "rejected": stat.rejected,
                "delivered": stat.delivered,
                "failed": stat.failed,
            }
            for stat in run.stats.all()
        ]


class RecordErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecordError
        fields = ["id", "run", "pipeline", "index", "record", "errors", "status", "created_at"]
