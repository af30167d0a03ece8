from django.urls import path
from rest_framework.routers import DefaultRouter

from mailbox.api import MailboxConsumerViewSet
from mailbox.views import AckView, MailboxSchemaView, MailboxView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
# The consumers of a mailbox, under `/connectors/{id}/` (`connectors` imports nothing from above).
router.register("connectors", MailboxConsumerViewSet, basename="connector")

urlpatterns = [
    path("mailbox/<slug:slug>/", MailboxView.as_view(), name="mailbox"),
    path("mailbox/<slug:slug>/ack/", AckView.as_view(), name="mailbox-ack"),
    path("mailbox/<slug:slug>/schema/", MailboxSchemaView.as_view(), name="mailbox-schema"),
    *router.urls,
]
