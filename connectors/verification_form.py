"""The ingest endpoint's sender-verification part of the connector form: a scheme picker that
shows what the sender sends, and the scheme's settings (secrets write-only and masked)."""

from __future__ import annotations

from django import forms

from connectors import secrets
from connectors.verification import REGISTRY as SCHEMES
from connectors.verification.base import SECRET_KEYS as VERIFICATION_SECRET_KEYS

KEEP_SECRET_HELP = "Leave blank to keep the stored secret; it is never shown again."
# What the sender of an ingest endpoint sends, per verification scheme, shown beside the picker.
SENDER_SENDS = {
    "token": "Authorization: Bearer <endpoint token>",
    "standard_webhooks": "webhook-id: <id>, webhook-timestamp: <unix time>, "
    "webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>",
    "stripe": "Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of timestamp.body>",
    "github": "X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>",
    "shopify": "X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>",
    "slack": "X-Slack-Request-Timestamp: <unix time>, "
    "X-Slack-Signature: v0=<hex HMAC-SHA256 of v0:timestamp:body>",
    "hmac": "<the header below>: <prefix><HMAC of the body>",
    "basic": "Authorization: Basic <base64 of username:password>",
}
# Form field -> key of the verification document, per scheme.
VERIFICATION_FIELDS = {
    name: {
        **{f"verification_{key}": key for key in scheme.settings},
        **({"verification_tolerance_seconds": "tolerance_seconds"} if scheme.has_timestamp else {}),
        **({"verification_allow_query_token": "allow_query_token"} if name == "token" else {}),
    }
    for name, scheme in SCHEMES.items()
}


def optional(field: forms.Field) -> forms.Field:
    field.required = False
    return field


class VerificationFields(forms.Form):
    """Fields and helpers `ConnectorForm` inherits; only an ingest endpoint keeps the fields."""

    verification_scheme = optional(
        forms.ChoiceField(
            label="The sender proves itself with",
            choices=[(name, scheme.label) for name, scheme in SCHEMES.items()],
            initial="token",
        )
    )
    verification_allow_query_token = optional(
        forms.BooleanField(
            label="Also accept ?token=<token> in the URL",
            help_text="For senders that can only be given a URL. URLs end up in logs "
            "(proxies, the sender's own): prefer the header.",
        )
    )
    verification_secret = optional(
        forms.CharField(
            label="Signing secret",
            widget=forms.PasswordInput,
            help_text="As the sender shows it. Stored encrypted, never shown again.",
        )
    )
    verification_previous_secret = optional(
        forms.CharField(
            label="Previous secret (rotation)",
            widget=forms.PasswordInput,
            help_text="Also verifies while the sender moves to the new secret.",
        )
    )
    verification_tolerance_seconds = optional(
        forms.IntegerField(
            label="Timestamp tolerance (seconds)",
            min_value=1,
            help_text="Older or further in the future is refused (default 300).",
        )
    )
    verification_header = optional(forms.CharField(label="Signature header", initial="X-Signature"))
    verification_algorithm = optional(
        forms.ChoiceField(label="Algorithm", choices=[(a, a) for a in ("sha256", "sha1", "sha512")])
    )
    verification_encoding = optional(
        forms.ChoiceField(label="Encoding", choices=[("hex", "hex"), ("base64", "base64")])
    )
    verification_prefix = optional(
        forms.CharField(label="Prefix", help_text="Text before the digest, e.g. sha256=")
    )
    verification_username = optional(forms.CharField(label="Username"))
    verification_password = optional(forms.CharField(label="Password", widget=forms.PasswordInput))
    verification_previous_password = optional(
        forms.CharField(
            label="Previous password (rotation)",
            widget=forms.PasswordInput,
            help_text="Also accepted while the sender moves to the new password.",
        )
    )
    verification_forget_previous = optional(
        forms.BooleanField(label="Remove the previous secret: the sender has switched")
    )

    def sender_sends(self):
        """(scheme, what its sender sends), shown for the scheme picked."""
        return list(SENDER_SENDS.items())

    def verification_rows(self):
        """Each setting's field once, with the schemes that use it (the picker shows those)."""
        names = dict.fromkeys(f for fields in VERIFICATION_FIELDS.values() for f in fields)
        return [
            (self[name], " ".join(s for s, fields in VERIFICATION_FIELDS.items() if name in fields))
            for name in names
            if name in self.fields
        ]

    def has_previous_secret(self) -> bool:
        stored = (self.instance.verification or {}) if self.instance else {}
        return bool(stored.get("previous_secret") or stored.get("previous_password"))

    def verification_document(self, data: dict) -> dict:
        """The `verification` setting: a blank secret keeps the stored one of the same scheme."""
        scheme = data.get("verification_scheme") or "token"
        document: dict = {"scheme": scheme}
        stored = (self.instance.verification or {}) if self.instance else {}
        same_scheme = stored.get("scheme", "token") == scheme
        for form_name, key in VERIFICATION_FIELDS[scheme].items():
            value = data.get(form_name)
            if key.startswith("previous_") and data.get("verification_forget_previous"):
                continue
            if value in (None, "") and key in VERIFICATION_SECRET_KEYS:
                if same_scheme and stored.get(key):
                    document[key] = secrets.MASK
                continue
            if value not in (None, ""):
                document[key] = value
        return document

    def add_verification_errors(self, errors: dict) -> None:
        """Errors of the setting (`{"verification": {"secret": [...]}}`) next to their field."""
        if isinstance(errors.get("verification"), dict):
            for key, messages in errors.pop("verification").items():
                field = f"verification_{key}"
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(
                        field if field in self.fields else "verification_scheme", str(message)
                    )

    def mark_stored_verification_secrets(self, instance) -> None:
        verification = instance.verification or {}
        for form_name, key in VERIFICATION_FIELDS.get(verification.get("scheme", ""), {}).items():
            if (
                key in VERIFICATION_SECRET_KEYS
                and verification.get(key)
                and form_name in self.fields
            ):
                self.fields[form_name].help_text = KEEP_SECRET_HELP


def verification_initial(connector) -> dict:
    """Form values of the stored setting, every secret left out."""
    initial = {}
    verification = connector.verification or {}
    initial["verification_scheme"] = verification.get("scheme", "token")
    for key, value in verification.items():
        if key not in VERIFICATION_SECRET_KEYS and key != "scheme":
            initial[f"verification_{key}"] = value
    return initial
