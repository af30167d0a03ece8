from django.contrib import admin

from mailbox.models import ConsumerCursor, MailboxRecord


@admin.register(MailboxRecord)
class MailboxRecordAdmin(admin.ModelAdmin):
    list_display = ["mailbox", "seq", "run_id", "created_at"]
    list_filter = ["mailbox"]
    search_fields = ["data"]


@admin.register(ConsumerCursor)
class ConsumerCursorAdmin(admin.ModelAdmin):
    list_display = ["mailbox", "consumer", "position", "updated_at"]
    list_filter = ["mailbox"]
