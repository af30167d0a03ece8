from django.urls import path
from rest_framework.routers import DefaultRouter

from pipelines.api import (
    ConnectorTestReadViewSet,
    DeliveryViewSet,
    PipelineViewSet,
    RunViewSet,
)
from pipelines.ingest import IngestView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("runs", RunViewSet, basename="run")
router.register("deliveries", DeliveryViewSet, basename="delivery")
# The test read action of `/connectors/{id}/`: reading a source is the pipelines' business.
router.register("connectors", ConnectorTestReadViewSet, basename="connector")

urlpatterns = [
    path("ingest/<slug:slug>/", IngestView.as_view(), name="ingest"),
    *router.urls,
]
