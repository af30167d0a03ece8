from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from connectors.examples import pretty
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.delivery.replay import replay_all
from pipelines.mapping.compile import MappingConfigError, compile_mapping
from pipelines.mapping.models import Mapping, Pipeline
from pipelines.runs.models import RecordError, Run, RunStat


class MappingFormSet(forms.BaseInlineFormSet):
    """Refuses what the API refuses: a mapping that does not compile against the destination."""

    def clean(self):
        super().clean()
        pipeline = self.instance
        if any(self.errors) or pipeline.destination_id is None:
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        specs = [
            Mapping(
                target=data.get("target") or "",
                source=data.get("source") or "",
                template=data.get("template") or "",
                value=data.get("value"),
                transforms=data.get("transforms") or [],
            ).spec()
            for data in kept
        ]
        try:
            compile_mapping(specs, pipeline.destination.schema.specs())
        except MappingConfigError as exc:
            raise forms.ValidationError(str(exc)) from None


class MappingInline(admin.TabularInline):
    model = Mapping
    formset = MappingFormSet
    extra = 0
    fields = ["position", "target", "source", "template", "value", "transforms"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "destination", "enabled", "broken_reason", "updated_at"]
    list_filter = ["enabled", "destination__kind"]
    search_fields = ["name", "source__name", "destination__name"]
    readonly_fields = ["broken_reason"]
    inlines = [MappingInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Compiled mappings are cached by the pipeline's updated_at; the mapping compiled in
        # MappingFormSet.clean, so whatever broke the pipeline no longer holds.
        form.instance.broken_reason = ""
        form.instance.save(update_fields=["updated_at", "broken_reason"])


class RunStatInline(admin.TabularInline):
    model = RunStat
    extra = 0
    readonly_fields = ["pipeline", "accepted", "rejected", "delivered", "failed"]
    can_delete = False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "source",
        "trigger",
        "status",
        "received",
        "accepted",
        "rejected",
        "delivered",
        "failed",
        "started_at",
    ]
    list_filter = ["status", "trigger", "source"]
    date_hierarchy = "started_at"
    inlines = [RunStatInline]
    readonly_fields = [f.name for f in Run._meta.fields]


@admin.register(RecordError)
class RecordErrorAdmin(admin.ModelAdmin):
    list_display = ["run", "pipeline", "index", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["run__id"]


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "pipeline",
        "destination",
        "status",
        "record_count",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "destination"]
    search_fields = ["id", "last_error"]
    inlines = [AttemptInline]
    readonly_fields = ["record_count", "records_json", "created_at", "updated_at", "delivered_at"]
    date_hierarchy = "updated_at"
    actions = ["replay", "replay_dead"]

    @admin.display(description="Records")
    def records_json(self, delivery: Delivery) -> str:
        # Shown, not edited: the payload is what was accepted, and a replay must send it again as is.
        return format_html("<pre>{}</pre>", pretty(delivery.records))

    @admin.action(
        description="Replay the selected deliveries (same idempotency key)",
        permissions=["change"],
    )
    def replay(self, request, queryset):
        replayed = replay_all(queryset)
        self.message_user(request, f"{replayed} of {queryset.count()} deliveries sent again.")

    @admin.action(
        description="Replay the dead ones among the selected deliveries", permissions=["change"]
    )
    def replay_dead(self, request, queryset):
        replayed = replay_all(queryset.filter(status=Delivery.Status.DEAD))
        self.message_user(request, f"{replayed} dead deliveries sent again.")
