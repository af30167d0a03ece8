"""The alerts pages: open incidents and the rules (editors change them), the channels (admins)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from connectors.models import Connector
from connectors.roles import ADMIN, role_required
from pipelines.alerts import notify
from pipelines.alerts.api import clean_addresses
from pipelines.alerts.models import AlertChannel, AlertRule, Incident


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["kind", "pipeline", "threshold", "minutes"]


class ChannelForm(forms.ModelForm):
    addresses_text = forms.CharField(
        label="Addresses (email)", required=False, help_text="One per line, or comma-separated."
    )

    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "connector"]
        labels = {"connector": "HTTP destination (webhook)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connector"].queryset = Connector.objects.filter(
            kind=Connector.Kind.HTTP_DESTINATION
        )

    def clean(self):
        data = super().clean()
        try:
            data["addresses"] = clean_addresses(data.get("addresses_text", ""))
        except ValidationError:
            self.add_error("addresses_text", "Enter valid email addresses.")
            return data
        if data.get("kind") == AlertChannel.Kind.EMAIL and not data["addresses"]:
            self.add_error("addresses_text", "An email channel needs an address.")
        if data.get("kind") == AlertChannel.Kind.WEBHOOK and not data.get("connector"):
            self.add_error("connector", "A webhook channel needs an HTTP destination.")
        return data

    def save(self, commit=True):
        self.instance.addresses = self.cleaned_data["addresses"]
        return super().save(commit)


@role_required
def alerts(request):
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Rule added.")
        return redirect("ui:alerts")
    return render(
        request,
        "pipelines/alerts.html",
        {
            "incidents": Incident.objects.open().select_related("rule", "rule__pipeline"),
            "recent": Incident.objects.filter(resolved_at__isnull=False)[:10],
            "rules": AlertRule.objects.select_related("pipeline"),
            "form": form,
        },
    )


@require_POST
@role_required
def alert_rule_delete(request, pk):
    get_object_or_404(AlertRule, pk=pk).delete()
    messages.success(request, "Rule deleted.")
    return redirect("ui:alerts")


@role_required(role=ADMIN)
def alert_channels(request):
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Channel added.")
        return redirect("ui:alert_channels")
    return render(
        request,
        "pipelines/alert_channels.html",
        {"channels": AlertChannel.objects.select_related("connector"), "form": form},
    )


@require_POST
@role_required(role=ADMIN)
def alert_channel_test(request, pk):
    delivered, detail = notify.send_test(get_object_or_404(AlertChannel, pk=pk))
    (messages.success if delivered else messages.error)(request, f"Test alert: {detail}.")
    return redirect("ui:alert_channels")


@require_POST
@role_required(role=ADMIN)
def alert_channel_delete(request, pk):
    get_object_or_404(AlertChannel, pk=pk).delete()
    messages.success(request, "Channel deleted.")
    return redirect("ui:alert_channels")
