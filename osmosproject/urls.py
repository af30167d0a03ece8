from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("osmosproject.health")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("connectors.urls")),
    path("api/v1/", include("pipelines.urls")),
    path("api/v1/", include("mailbox.urls")),
    path("", include("osmosproject.ui_urls")),
]
