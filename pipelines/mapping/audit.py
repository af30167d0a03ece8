"""Pipelines and their mappings in the audit log (connectors/audit.py does the recording)."""

from __future__ import annotations

from connectors.audit import Audited, Snapshot, register
from pipelines.mapping.models import Mapping, Pipeline
from pipelines.mapping.serializers import PipelineSerializer


def pipeline_snapshot(pipeline: Pipeline) -> Snapshot:
    shown = dict(PipelineSerializer(pipeline).data)
    for runtime in ("id", "created_at", "updated_at"):
        shown.pop(runtime)
    # Slugs read better than ids, and survive a connector being recreated.
    shown["source"], shown["destination"] = pipeline.source.slug, pipeline.destination.slug
    return Snapshot(pipeline.name, shown)


def load_pipeline(pk):
    return (
        Pipeline.objects.select_related("source", "destination")
        .prefetch_related("mappings")
        .filter(pk=pk)
        .first()
    )


def register_pipelines() -> None:
    register(
        Audited(
            "pipeline",
            Pipeline,
            load_pipeline,
            pipeline_snapshot,
            parts={Mapping: lambda mapping: mapping.pipeline_id},
        )
    )
