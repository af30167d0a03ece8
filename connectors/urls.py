from rest_framework.routers import DefaultRouter

from connectors.api import ApiTokenViewSet, ConnectorViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("connectors", ConnectorViewSet, basename="connector")
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
