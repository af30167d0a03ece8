from django.urls import path
from rest_framework.routers import DefaultRouter

from pipelines.alerts.api import AlertChannelViewSet, AlertRuleViewSet, IncidentViewSet
from pipelines.config.api import (
    ConfigApplyView,
    ConfigExportView,
    PresetCreateView,
    PresetDetailView,
    PresetListView,
)
from pipelines.delivery.api import DeliveryViewSet
from pipelines.ingest.views import IngestSchemaView, IngestView
from pipelines.mapping.api import PipelineViewSet
from pipelines.openapi import ConnectorOpenApiView
from pipelines.pull.api import ConnectorTestReadViewSet, PipelineRunViewSet
from pipelines.runs.api import RunViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("runs", RunViewSet, basename="run")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("alert-channels", AlertChannelViewSet, basename="alert-channel")
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")
router.register("incidents", IncidentViewSet, basename="incident")

# Actions of `/pipelines/{id}/` and `/connectors/{id}/` that read a source: the pull flow's
# business. A router of their own keeps the URL names of the CRUD routes (`pipeline-run`).
pull_router = DefaultRouter(trailing_slash=True)
pull_router.include_root_view = False
pull_router.register("pipelines", PipelineRunViewSet, basename="pipeline")
pull_router.register("connectors", ConnectorTestReadViewSet, basename="connector")

urlpatterns = [
    path("ingest/<slug:slug>/", IngestView.as_view(), name="ingest"),
    path("ingest/<slug:slug>/schema/", IngestSchemaView.as_view(), name="ingest-schema"),
    path("config/export/", ConfigExportView.as_view(), name="config-export"),
    path("config/apply/", ConfigApplyView.as_view(), name="config-apply"),
    path("connectors/<int:pk>/openapi/", ConnectorOpenApiView.as_view(), name="connector-openapi"),
    path("presets/", PresetListView.as_view(), name="presets"),
    path("presets/<slug:name>/", PresetDetailView.as_view(), name="preset"),
    path("presets/<slug:name>/create/", PresetCreateView.as_view(), name="preset-create"),
    *router.urls,
    *pull_router.urls,
]
