from rest_framework.routers import DefaultRouter

from connectors.api import ApiTokenViewSet, ConnectorViewSet
from connectors.team_api import AuditEntryViewSet, UserViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("connectors", ConnectorViewSet, basename="connector")
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("users", UserViewSet, basename="user")
router.register("audit", AuditEntryViewSet, basename="audit-entry")

urlpatterns = router.urls
