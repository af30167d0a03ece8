from django.urls import path

from mailbox.views import AckView, MailboxView

urlpatterns = [
    path("mailbox/<slug:slug>/", MailboxView.as_view(), name="mailbox"),
    path("mailbox/<slug:slug>/ack/", AckView.as_view(), name="mailbox-ack"),
]
