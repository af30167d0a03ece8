from django import forms
from django.contrib import admin

from connectors import secrets
from connectors.models import ApiToken, AuditEntry, Connector, Header, Schema, SchemaField
from connectors.schema_guards import schema_change_problems


class HeaderForm(forms.ModelForm):
    """Shows a secret value masked; leaving the mask in place keeps the stored value."""

    class Meta:
        model = Header
        fields = ["name", "value", "secret", "position"]
        widgets = {"value": forms.TextInput(attrs={"size": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.secret:
            self.initial["value"] = secrets.MASK

    def clean_value(self):
        value = self.cleaned_data["value"]
        if value == secrets.MASK and self.instance.pk:
            return self.instance.value
        return value


class HeaderInline(admin.TabularInline):
    model = Header
    form = HeaderForm
    extra = 0


class SchemaFieldFormSet(forms.BaseInlineFormSet):
    """Refuses what the API refuses: a schema edit that would break a pipeline."""

    def clean(self):
        super().clean()
        connector = Connector.objects.filter(schema=self.instance).first()
        if any(self.errors) or connector is None:
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        kept.sort(key=lambda data: data.get("position") or 0)
        specs = [SchemaField(**{key: data.get(key) for key in SPEC_KEYS}).spec() for data in kept]
        problems = schema_change_problems(connector, specs)
        if problems:
            raise forms.ValidationError(problems)


SPEC_KEYS = ("name", "type", "required", "default", "description")


class SchemaFieldInline(admin.TabularInline):
    model = SchemaField
    formset = SchemaFieldFormSet
    extra = 0
    fields = ["position", "name", "type", "required", "default", "description"]


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "enabled", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "slug", "url"]
    readonly_fields = [
        "token_hint",
        "token_rotated_at",
        "state",
        "failing_since",
        "created_at",
        "updated_at",
    ]
    exclude = ["token_hash", "auth", "signing_secret", "previous_signing_secret", "verification"]
    inlines = [HeaderInline]
    actions = ["disable", "enable"]

    # One save per connector, not one UPDATE: each change goes to the audit log.
    @admin.action(description="Disable selected connectors", permissions=["change"])
    def disable(self, request, queryset):
        for connector in queryset:
            connector.enabled = False
            connector.save(update_fields=["enabled", "updated_at"])

    @admin.action(description="Enable selected connectors", permissions=["change"])
    def enable(self, request, queryset):
        for connector in queryset:
            connector.enabled, connector.disabled_reason, connector.failing_since = True, "", None
            connector.save(
                update_fields=["enabled", "disabled_reason", "failing_since", "updated_at"]
            )


@admin.register(Schema)
class SchemaAdmin(admin.ModelAdmin):
    list_display = ["__str__", "updated_at"]
    inlines = [SchemaFieldInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Compiled validators are cached by the schema's updated_at.
        form.instance.save(update_fields=["updated_at"])


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `drf_create_token` or POST /api/v1/tokens/ (the key is shown there
    once); here they are seen and revoked."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "expires_at"]
    list_filter = ["revoked_at"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        queryset.revoke()


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only, for everyone (superusers too): the log is never edited."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "object_name"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "object_name", "object_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
