"""The web UI's pages (the product's own no-code interface; the admin stays the power-user fallback)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from connectors import team_views as team
from connectors import views as connectors
from pipelines import connector_pages, dashboard
from pipelines.alerts import views as alerts
from pipelines.config import views as config
from pipelines.delivery import views as deliveries
from pipelines.mapping import views as pipelines
from pipelines.pull import views as pulls
from pipelines.runs import views as runs
from pipelines.uploads import views as uploads

app_name = "ui"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Connectors
    path("connectors/", connectors.connector_list, name="connectors"),
    path("connectors/new/", config.connector_new, name="connector_new"),
    path("connectors/presets/<slug:name>/", config.preset_start, name="preset_start"),
    path("connectors/new/<str:kind>/", connectors.connector_create, name="connector_create"),
    path("connectors/infer-schema/", connectors.infer_schema_view, name="infer_schema"),
    path("connectors/<int:pk>/", connector_pages.connector_detail, name="connector"),
    path("connectors/<int:pk>/edit/", connectors.connector_edit, name="connector_edit"),
    path("connectors/<int:pk>/delete/", connectors.connector_delete, name="connector_delete"),
    path(
        "connectors/<int:pk>/rotate-token/",
        connectors.connector_rotate_token,
        name="connector_rotate_token",
    ),
    path(
        "connectors/<int:pk>/rotate-signing-secret/",
        connectors.connector_rotate_signing_secret,
        name="connector_rotate_signing_secret",
    ),
    path(
        "connectors/<int:pk>/sample/",
        connector_pages.connector_post_sample,
        name="connector_post_sample",
    ),
    path(
        "connectors/<int:pk>/signed-sample/",
        connector_pages.connector_post_signed_sample,
        name="connector_post_signed_sample",
    ),
    path(
        "connectors/<int:pk>/test-request/",
        connector_pages.connector_test_request,
        name="connector_test_request",
    ),
    path(
        "connectors/<int:pk>/test-read/",
        connector_pages.connector_test_read,
        name="connector_test_read",
    ),
    path(
        "connectors/<int:pk>/forget-consumer/",
        connector_pages.connector_forget_consumer,
        name="connector_forget_consumer",
    ),
    path(
        "connectors/<int:pk>/adopt-schema/",
        connectors.connector_adopt_schema,
        name="connector_adopt_schema",
    ),
    # Configuration files
    path("config/download/", config.config_download, name="config_download"),
    path("config/upload/", config.config_upload, name="config_upload"),
    # CSV uploads to an ingest endpoint
    path("connectors/<int:pk>/upload/", uploads.upload_new, name="upload_new"),
    path("connectors/<int:pk>/upload/preview/", uploads.upload_preview, name="upload_preview"),
    path("connectors/<int:pk>/upload/start/", uploads.upload_create, name="upload_create"),
    path("uploads/<int:pk>/", uploads.upload_detail, name="upload"),
    path("uploads/<int:pk>/progress/", uploads.upload_progress, name="upload_progress"),
    # Pipelines
    path("pipelines/", dashboard.pipeline_list, name="pipelines"),
    path("pipelines/new/", pipelines.pipeline_new, name="pipeline_new"),
    path("pipelines/<int:pk>/", pipelines.pipeline_edit, name="pipeline"),
    path("pipelines/<int:pk>/delete/", pipelines.pipeline_delete, name="pipeline_delete"),
    path("pipelines/<int:pk>/run/", pulls.pipeline_run, name="pipeline_run"),
    # Runs and deliveries
    path("runs/", runs.run_list, name="runs"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("runs/<int:pk>/resend/", runs.run_resend, name="run_resend"),
    path("deliveries/", deliveries.delivery_list, name="deliveries"),
    path("deliveries/replay-dead/", deliveries.delivery_replay_dead, name="deliveries_replay_dead"),
    path("deliveries/<int:pk>/", deliveries.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/replay/", deliveries.delivery_replay, name="delivery_replay"),
    # The team: users and roles (admins), the audit log (editors and admins)
    path("users/", team.user_list, name="users"),
    path("users/<int:pk>/role/", team.user_role, name="user_role"),
    path("users/<int:pk>/active/", team.user_active, name="user_active"),
    path("audit/", team.audit_list, name="audit"),
    # Alerts: incidents and rules (editors change rules), channels (admins)
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/rules/<int:pk>/delete/", alerts.alert_rule_delete, name="alert_rule_delete"),
    path("alerts/channels/", alerts.alert_channels, name="alert_channels"),
    path("alerts/channels/<int:pk>/test/", alerts.alert_channel_test, name="alert_channel_test"),
    path(
        "alerts/channels/<int:pk>/delete/", alerts.alert_channel_delete, name="alert_channel_delete"
    ),
    # The demo workspace, and the echo receiver its HTTP destination calls (DEBUG only)
    path("demo/create/", dashboard.demo_create, name="demo_create"),
    path("demo/send/", dashboard.demo_send, name="demo_send"),
    path("demo/remove/", dashboard.demo_remove, name="demo_remove"),
    path("demo/echo/", dashboard.demo_echo, name="demo_echo"),
    path("demo/echo/<path:rest>", dashboard.demo_echo, name="demo_echo_path"),
]
