"""Forms of the team pages and API: the audit log's filters, a new user, a role change."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from connectors.roles import ROLES

ROLE_CHOICES = [(role, role.title()) for role in ROLES]


class AuditFilterForm(forms.Form):
    object_type = forms.CharField(required=False, max_length=40)
    object_id = forms.CharField(required=False, max_length=64)
    user = forms.CharField(required=False, max_length=150, help_text="A username.")
    since = forms.DateTimeField(required=False, help_text="ISO 8601, inclusive.")
    until = forms.DateTimeField(required=False, help_text="ISO 8601, exclusive.")

    def filter(self, entries):
        data = self.cleaned_data
        if data["object_type"]:
            entries = entries.filter(object_type=data["object_type"])
        if data["object_id"]:
            entries = entries.filter(object_id=data["object_id"])
        if data["user"]:
            entries = entries.filter(user__username=data["user"])
        if data["since"]:
            entries = entries.filter(at__gte=data["since"])
        if data["until"]:
            entries = entries.filter(at__lt=data["until"])
        return entries


class NewUserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="viewer")
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model()._default_manager.filter(username=username).exists():
            raise forms.ValidationError("A user with this username exists already.")
        return username

    def clean(self):
        data = super().clean()
        if data.get("password"):
            user = get_user_model()(username=data.get("username", ""), email=data.get("email", ""))
            try:
                validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
