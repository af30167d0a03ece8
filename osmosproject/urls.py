from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links; the icon is one SVG.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("", include("osmosproject.health")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The ingest endpoint (pipelines.urls) and the mailbox first: every sender's and poller's
    # request is resolved, and the management API's routers hold many more patterns.
    path("api/v1/", include("pipelines.urls")),
    path("api/v1/", include("mailbox.urls")),
    path("api/v1/", include("connectors.urls")),
    path("", include("osmosproject.ui_urls")),
]
