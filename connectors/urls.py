from rest_framework.routers import DefaultRouter

from connectors.api import ConnectorViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("connectors", ConnectorViewSet, basename="connector")

urlpatterns = router.urls
