from __future__ import annotations

import re

from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.urls import reverse
from rest_framework import serializers

from connectors import http, secrets
from connectors.kinds import REGISTRY
from connectors.models import ApiToken, Connector, FieldType, SchemaField
from connectors.schema import CoercionError, coerce
from connectors.schema_guards import schema_change_problems
from connectors.secret_variables import InvalidSecretVariables
from connectors.secret_variables import masked as masked_secret_variables
from connectors.secret_variables import merge as merge_secret_variables
from connectors.signing import secret_bytes
from connectors.templating import TemplateError, compile_template, is_template
from connectors.verification import InvalidVerification, mask_verification
from connectors.verification import merge_masked as merge_masked_verification

FIELD_NAME = re.compile(r"^[^.\s][^.]*(\.[^.]+)*$")
COMMON_FIELDS = (
    "id",
    "name",
    "slug",
    "kind",
    "description",
    "enabled",
    "schema",
    "created_at",
    "updated_at",
)
HTTP_ONLY = {"headers"}


class SchemaFieldSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=FieldType.choices, default=FieldType.STRING)
    required = serializers.BooleanField(default=False)
    default = serializers.JSONField(required=False, allow_null=True, default=None)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not FIELD_NAME.match(value):
            raise serializers.ValidationError(
                "Use letters, digits and underscores; dots separate nested keys (identifiers.email)."
            )
        return value

    def validate(self, attrs):
        if attrs.get("default") is not None:
            try:
                attrs["default"] = coerce(attrs["type"], attrs["default"])
            except CoercionError as exc:
                raise serializers.ValidationError({"default": str(exc)}) from exc
        return attrs


class SchemaSerializer(serializers.Serializer):
    fields = SchemaFieldSerializer(many=True)

    def validate_fields(self, fields):
        seen: set[str] = set()
        for field in fields:
            if field["name"] in seen:
                raise serializers.ValidationError(f"The field '{field['name']}' is defined twice.")
            seen.add(field["name"])
        # `a` and `a.b` cannot both exist: `a` would be a value and an object at once.
        for name in seen:
            parts = name.split(".")
            for i in range(1, len(parts)):
                if ".".join(parts[:i]) in seen:
                    raise serializers.ValidationError(
                        f"'{'.'.join(parts[:i])}' cannot be a field and hold '{name}' at once."
                    )
        return fields

    def to_representation(self, schema):
        return {"fields": [SchemaFieldSerializer(f).data for f in schema.fields.all()]}


class HeaderValueField(serializers.CharField):
    """A header value; NUL is refused like every other control character, with the header's name."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class HeaderSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    value = HeaderValueField(allow_blank=True, trim_whitespace=False)
    secret = serializers.BooleanField(default=False)

    def validate_name(self, value: str) -> str:
        if not http.HEADER_NAME.fullmatch(value):
            raise serializers.ValidationError(f"{value!r} is not a valid HTTP header name.")
        return value

    def validate(self, attrs):
        name, value = attrs["name"], attrs.get("value", "")
        problem = http.header_problem(name, value)
        if problem:
            raise serializers.ValidationError({"value": problem[0].upper() + problem[1:] + "."})
        if is_template(value):
            try:
                compile_template(value, strict=True)
            except TemplateError as exc:
                raise serializers.ValidationError(
                    {"value": f"The header {name} is not a valid template: {exc}"}
                ) from exc
        return attrs

    def to_representation(self, header):
        return {"name": header.name, "value": header.display_value, "secret": header.secret}


class MaskedAuthField(serializers.DictField):
    """Auth settings: written whole, shown with every secret masked."""

    def to_representation(self, value):
        from connectors.auth import mask_auth

        return mask_auth(value) if value else {}


class SecretVariablesField(serializers.DictField):
    """Named secrets for templates: written whole, each value shown as the mask."""

    def to_representation(self, value):
        return masked_secret_variables(value)


class VerificationField(serializers.DictField):
    """How the sender of an ingest endpoint proves itself: written whole, shown masked."""

    def to_representation(self, value):
        return mask_verification(value)


class ConnectorSerializer(serializers.ModelSerializer):
    schema = SchemaSerializer(required=False)
    headers = HeaderSerializer(many=True, required=False)
    auth = MaskedAuthField(required=False)
    verification = VerificationField(required=False, allow_null=True)
    # Objects, never null or other JSON: the kinds read them as mappings.
    variables = serializers.DictField(required=False)
    secret_variables = SecretVariablesField(
        required=False,
        help_text="Secrets templates use as {{ name }}, like variables: encrypted at rest, "
        'shown as "********". Send "********" back to keep a value; a name left out is removed.',
    )
    pagination = serializers.DictField(required=False)
    schedule = serializers.DictField(required=False)
    signing_secret = serializers.CharField(required=False, allow_blank=True, write_only=True)
    previous_signing_secret = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Also signs until previous_signing_secret_expires_at "
        "(SIGNING_SECRET_OVERLAP_HOURS from now); empty removes it. "
        "POST rotate-signing-secret/ does both at once.",
    )
    has_signing_secret = serializers.SerializerMethodField()
    undecryptable_secrets = serializers.SerializerMethodField(
        help_text="Stored secrets that cannot be decrypted: the encryption key changed. "
        "The connector is paused until they are entered again or the key restored."
    )
    endpoint_url = serializers.SerializerMethodField()

    class Meta:
        model = Connector
        fields = [
            *COMMON_FIELDS,
            "headers",
            "endpoint_url",
            "token_hint",
            "all_or_nothing",
            "drop_unknown_fields",
            "throttle_rate",
            "verification",
            "retention_days",
            "url",
            "method",
            "auth",
            "timeout_seconds",
            "variables",
            "secret_variables",
            "batch_size",
            "body_template",
            "max_attempts",
            "initial_backoff_seconds",
            "signing_secret",
            "previous_signing_secret",
            "previous_signing_secret_expires_at",
            "has_signing_secret",
            "undecryptable_secrets",
            "rate_limit_per_second",
            "max_concurrency",
            "disable_after_failing_days",
            "disabled_reason",
            "body",
            "records_path",
            "pagination",
            "schedule",
            "max_pages",
            "cursor_field",
            "primary_key",
            "state",
        ]
        read_only_fields = [
            "token_hint",
            "disabled_reason",
            "state",
            "previous_signing_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"slug": {"required": False}}

    def get_endpoint_url(self, connector) -> str | None:
        routes = {"ingest_endpoint": "ingest", "mailbox": "mailbox"}
        if connector.kind not in routes:
            return None
        path = reverse(routes[connector.kind], kwargs={"slug": connector.slug})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_has_signing_secret(self, connector) -> bool:
        return bool(connector.signing_secret)

    def get_undecryptable_secrets(self, connector) -> list[str]:
        return [f"{name} {secrets.UNDECRYPTABLE}" for name in connector.undecryptable_secrets()]

    def to_representation(self, connector):
        data = super().to_representation(connector)
        kind = REGISTRY[connector.kind]
        shown = {*COMMON_FIELDS, *kind.fields}
        if kind.name.startswith("http_"):
            shown |= {
                "headers",
                "has_signing_secret",
                "undecryptable_secrets",
                "disabled_reason",
                "state",
            }
        if kind.has_token:
            shown |= {"endpoint_url", "token_hint"}
        return {key: value for key, value in data.items() if key in shown}

    def validate_previous_signing_secret(self, value):
        if value and value != secrets.MASK:
            try:
                secret_bytes(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc).capitalize() + ".") from None
        return value

    def validate_kind(self, value):
        if self.instance and value != self.instance.kind:
            raise serializers.ValidationError(
                "The kind of a connector cannot change; create a new one."
            )
        return value

    def validate_slug(self, value):
        qs = Connector.objects.filter(slug=value)
        if self.instance:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError("Another connector already uses this slug.")
        return value

    def validate(self, attrs):
        kind_name = attrs.get("kind") or self.instance.kind
        self.merge_secret_variables(kind_name, attrs)
        probe = Connector(kind=kind_name)
        if self.instance:
            for field in self.instance._meta.concrete_fields:
                setattr(probe, field.attname, getattr(self.instance, field.attname))
        for key, value in attrs.items():
            if key not in ("schema", "headers", "auth", "verification"):
                setattr(probe, key, value)
        if "auth" in attrs:
            probe.auth = merge_masked(self.instance.auth if self.instance else {}, attrs["auth"])
        if kind_name != Connector.Kind.INGEST_ENDPOINT:
            attrs.pop("verification", None)
        elif "verification" in attrs:
            stored = self.instance.verification if self.instance else {}
            try:
                probe.verification = merge_masked_verification(stored, attrs["verification"])
            except InvalidVerification as exc:
                raise serializers.ValidationError(
                    {"verification": {exc.field: exc.message}}
                ) from None
        if "schema" in attrs:
            field_names = {f["name"] for f in attrs["schema"]["fields"]}
        elif self.instance:
            field_names = {f.name for f in self.instance.schema.fields.all()}
        else:
            field_names = set()
        if self.instance is not None and "schema" in attrs:
            specs = [SchemaField(**field).spec() for field in attrs["schema"]["fields"]]
            # Configuration changes under a running data path: refuse what would break a pipeline.
            problems = schema_change_problems(self.instance, specs)
            if problems:
                raise serializers.ValidationError({"schema": problems})
        errors = REGISTRY[kind_name].clean(probe, field_names)
        if errors:
            raise serializers.ValidationError(errors)
        # The kind may normalise values (default method, filled pagination).
        for key in ("method", "pagination", "schedule", "auth", "verification"):
            if key in attrs or not self.instance:
                attrs[key] = getattr(probe, key)
        if "url" in attrs:
            # Credentials in the URL were moved to auth (connectors.kinds.move_url_credentials).
            attrs["url"] = probe.url
            if probe.auth != (self.instance.auth if self.instance else {}):
                attrs["auth"] = probe.auth
        return attrs

    def merge_secret_variables(self, kind_name: str, attrs: dict) -> None:
        """Masked values become the stored ones; a name also in `variables` is refused."""
        if "secret_variables" not in REGISTRY[kind_name].fields:
            attrs.pop("secret_variables", None)
            return
        stored = self.instance.secret_variables if self.instance else {}
        if "secret_variables" not in attrs:
            if "variables" not in attrs:
                return
            incoming = masked_secret_variables(stored)
        else:
            incoming = attrs["secret_variables"]
        constants = attrs.get("variables", self.instance.variables if self.instance else {})
        try:
            merged = merge_secret_variables(stored, incoming, constants)
        except InvalidSecretVariables as exc:
            raise serializers.ValidationError({"secret_variables": str(exc)}) from None
        if "secret_variables" in attrs:
            attrs["secret_variables"] = merged

    @transaction.atomic
    def create(self, validated_data):
        schema = validated_data.pop("schema", {"fields": []})
        headers = validated_data.pop("headers", [])
        previous = validated_data.pop("previous_signing_secret", "")
        connector = Connector(**validated_data)
        connector.set_previous_signing_secret(previous)
        connector.save()
        connector.schema.replace_fields(schema["fields"])
        connector.replace_headers(headers)
        if connector.kind_class.has_token:
            self.issued_token = connector.rotate_token()
        return connector

    @transaction.atomic
    def update(self, connector, validated_data):
        schema = validated_data.pop("schema", None)
        headers = validated_data.pop("headers", None)
        if validated_data.get("signing_secret") == secrets.MASK:
            validated_data.pop("signing_secret")
        previous = validated_data.pop("previous_signing_secret", secrets.MASK)
        if previous != secrets.MASK:
            connector.set_previous_signing_secret(previous)
        if validated_data.get("enabled") and not connector.enabled:
            # Re-enabled by a person: the reason it was switched off no longer holds.
            validated_data.update(disabled_reason="", failing_since=None)
        connector = super().update(connector, validated_data)
        if schema is not None:
            connector.schema.replace_fields(schema["fields"])
        if headers is not None:
            connector.replace_headers(headers)
        return connector


def merge_masked(stored: dict, incoming: dict) -> dict:
    """A secret sent back masked keeps its stored value, so forms can round-trip settings."""
    if incoming == {"type": secrets.UNDECRYPTABLE}:
        return stored
    return {
        key: stored.get(key, "") if value == secrets.MASK else value
        for key, value in incoming.items()
    }


class RotateSigningSecretSerializer(serializers.Serializer):
    overlap_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=24 * 30,
        help_text="How long the previous secret keeps signing too (default "
        "SIGNING_SECRET_OVERLAP_HOURS, 24); 0 drops it at once.",
    )


class SigningSecretSerializer(serializers.Serializer):
    signing_secret = serializers.CharField(
        read_only=True, help_text="Shown once; stored encrypted, never shown again."
    )
    previous_signing_secret_expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Until then the previous secret signs too."
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; only its hash is stored.")
    endpoint_url = serializers.CharField(read_only=True)


class ApiTokenSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(
        help_text="The token's own role; null: its owner's. A request acts with at most the "
        "owner's current role."
    )
    effective_role = serializers.SerializerMethodField(
        help_text="The role a request with this token acts with now."
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "role",
            "effective_role",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_role(self, token) -> str | None:
        return token.role or None

    def get_effective_role(self, token) -> str | None:
        from connectors.roles import role_of

        return role_of(token.user, token)


class ApiTokenCreateSerializer(serializers.Serializer):
    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=3650,
        help_text="Empty: the token does not expire.",
    )
    role = serializers.ChoiceField(
        choices=["viewer", "editor", "admin"],
        required=False,
        allow_null=True,
        default=None,
        help_text="At most the user's own role; absent: the user's role, whatever it becomes.",
    )


class IssuedApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="Shown once; only its hash is stored. Send `Token <token>`."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
