from django import forms
from django.contrib import admin

from connectors import secrets
from connectors.models import ApiToken, Connector, Header, Schema, SchemaField
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

    @admin.action(description="Disable selected connectors")
    def disable(self, request, queryset):
        queryset.update(enabled=False)

    @admin.action(description="Enable selected connectors")
    def enable(self, request, queryset):
        queryset.update(enabled=True, disabled_reason="", failing_since=None)


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

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        queryset.revoke()
