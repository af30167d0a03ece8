from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from connectors import secrets
from connectors.json_schema import accepted_schema, emitted_schema
from connectors.schema import CompiledSchema, FieldSpec


class FieldType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    URL = "url"
    JSON = "json"


class Schema(models.Model):
    """The shape of a connector's records: an ordered list of fields."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        owner = getattr(self, "connector", None)
        return f"Schema of {owner}" if owner else f"Schema {self.pk}"

    def specs(self) -> list[FieldSpec]:
        return [f.spec() for f in self.fields.all()]

    def compile(self, *, drop_unknown: bool = False) -> CompiledSchema:
        """Compiled once and reused while the schema is unchanged (every edit bumps updated_at)."""
        return _compiled_schema(self.pk, self.updated_at, drop_unknown)

    def json_schema(self, *, emitted: bool = False, drop_unknown: bool = False, title: str = ""):
        """JSON Schema (2020-12) of one record: as an ingest endpoint accepts it, or `emitted`,
        as a mailbox hands it out (connectors/json_schema.py)."""
        if emitted:
            return emitted_schema(self.specs(), title=title)
        return accepted_schema(self.specs(), drop_unknown=drop_unknown, title=title)

    def replace_fields(self, fields: list[dict]) -> None:
        """Set the whole field list at once: the API and the UI edit a schema as one document."""
        self.fields.all().delete()
        SchemaField.objects.bulk_create(
            SchemaField(schema=self, position=i, **field) for i, field in enumerate(fields)
        )
        self.save(update_fields=["updated_at"])


@lru_cache(maxsize=512)
def _compiled_schema(schema_id: int, updated_at, drop_unknown: bool) -> CompiledSchema:
    specs = [f.spec() for f in SchemaField.objects.filter(schema_id=schema_id)]
    return CompiledSchema(specs, drop_unknown=drop_unknown)


class SchemaField(models.Model):
    schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(default=0)
    # A dotted name is a nested key: `identifiers.email` is {"identifiers": {"email": ...}}.
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=FieldType.choices, default=FieldType.STRING)
    required = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "name"], name="unique_field_name_per_schema")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    def spec(self) -> FieldSpec:
        return FieldSpec(
            name=self.name,
            type=self.type,
            required=self.required,
            default=self.default,
            description=self.description,
        )


class ConnectorQuerySet(models.QuerySet):
    def sources(self):
        from connectors.kinds import SOURCE_KINDS

        return self.filter(kind__in=SOURCE_KINDS)

    def destinations(self):
        from connectors.kinds import DESTINATION_KINDS

        return self.filter(kind__in=DESTINATION_KINDS)


class Connector(models.Model):
    """One end of a flow. What each kind needs and checks lives in `connectors.kinds`."""

    class Kind(models.TextChoices):
        INGEST_ENDPOINT = "ingest_endpoint", "Ingest endpoint"
        MAILBOX = "mailbox", "Mailbox"
        HTTP_SOURCE = "http_source", "HTTP source"
        HTTP_DESTINATION = "http_destination", "HTTP destination"

    class Method(models.TextChoices):
        GET = "GET"
        POST = "POST"
        PUT = "PUT"
        PATCH = "PATCH"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    schema = models.OneToOneField(Schema, on_delete=models.PROTECT, related_name="connector")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Endpoint token (ingest_endpoint, mailbox): only its hash is kept.
    token_hash = models.CharField(max_length=64, blank=True)
    token_hint = models.CharField(
        max_length=12, blank=True, help_text="Last characters of the token"
    )
    token_rotated_at = models.DateTimeField(null=True, blank=True)

    # ingest_endpoint
    all_or_nothing = models.BooleanField(
        default=False, help_text="Reject the whole batch (422) when any record is invalid."
    )
    drop_unknown_fields = models.BooleanField(
        default=False,
        help_text="Drop fields that are not in the schema instead of passing them on.",
    )
    throttle_rate = models.CharField(
        max_length=20, blank=True, help_text="Requests allowed, e.g. 600/min (empty: the default)."
    )
    # How a sender proves itself (connectors.verification): scheme and secrets, encrypted
    # whole; empty means the default, the endpoint token.
    verification = secrets.EncryptedJSONField(blank=True, default=dict)

    # mailbox
    retention_days = models.PositiveIntegerField(default=7)

    # http_source and http_destination
    url = models.CharField(max_length=2000, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    auth = secrets.EncryptedJSONField(blank=True, default=dict)
    timeout_seconds = models.PositiveIntegerField(default=30)
    variables = models.JSONField(default=dict, blank=True, help_text="Constants for templates.")
    # Like `variables`, but secret: encrypted at rest, masked when shown, redacted from texts.
    # A Slack or Discord webhook URL, whose path is the credential, is one.
    secret_variables = secrets.EncryptedJSONField(blank=True, default=dict)

    # http_destination
    batch_size = models.PositiveIntegerField(default=1)
    body_template = models.TextField(blank=True)
    max_attempts = models.PositiveIntegerField(default=8)
    initial_backoff_seconds = models.PositiveIntegerField(default=10)
    signing_secret = secrets.EncryptedTextField(blank=True)
    # During a rotation the old secret signs too, until this time (empty: until removed).
    previous_signing_secret = secrets.EncryptedTextField(blank=True)
    previous_signing_secret_expires_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_second = models.FloatField(null=True, blank=True)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    disable_after_failing_days = models.PositiveIntegerField(default=5)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)

    # http_source
    body = models.TextField(blank=True, help_text="Request body (a template).")
    records_path = models.CharField(max_length=500, blank=True)
    pagination = models.JSONField(default=dict, blank=True)
    schedule = models.JSONField(default=dict, blank=True)
    max_pages = models.PositiveIntegerField(default=1000)
    cursor_field = models.CharField(max_length=200, blank=True)
    primary_key = models.CharField(max_length=200, blank=True)
    state = models.JSONField(default=dict, blank=True)

    objects = ConnectorQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self.unique_slug(self.name)
        if self.schema_id is None:
            self.schema = Schema.objects.create()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        # Django collects what cascades (a source's runs...) before its DELETE transaction: a
        # run a sender committed in between failed the delete at commit (a 500). Collected
        # inside one transaction, nothing comes in between on SQLite, whose IMMEDIATE
        # transactions take the write lock at BEGIN. On PostgreSQL a source's row is locked
        # first: the runs in flight are waited for and new ones held off, then find it gone. A
        # sender's transaction holds nothing else of the source's that the delete needs. Not
        # so for a destination (a mailbox's sequence row, its pipelines' rows): locked first,
        # it deadlocked with the senders writing to it.
        with transaction.atomic(using=kwargs.get("using")):
            if self.is_source:
                list(type(self).objects.select_for_update().filter(pk=self.pk).values_list("pk"))
            return super().delete(*args, **kwargs)

    @property
    def kind_class(self):
        from connectors.kinds import get_kind

        return get_kind(self.kind)

    @property
    def is_source(self) -> bool:
        return self.kind_class.direction == "source"

    @property
    def is_destination(self) -> bool:
        return self.kind_class.direction == "destination"

    @classmethod
    def unique_slug(cls, name: str) -> str:
        base = slugify(name)[:60] or "connector"
        slug, n = base, 2
        while cls.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def record_json_schema(self) -> dict:
        """The published schema of one record: what a source accepts, what a destination emits."""
        return self.schema.json_schema(
            emitted=self.is_destination,
            drop_unknown=self.drop_unknown_fields,
            title=f"{self.name} record",
        )

    # --- tokens ------------------------------------------------------------------
    def rotate_token(self) -> str:
        """Issue a new endpoint token; the plaintext is returned once and never stored."""
        token = secrets.generate_token()
        self.token_hash = secrets.hash_token(token)
        self.token_hint = token[-4:]
        self.token_rotated_at = timezone.now()
        self.save(update_fields=["token_hash", "token_hint", "token_rotated_at", "updated_at"])
        return token

    def check_token(self, token: str) -> bool:
        return secrets.token_matches(token, self.token_hash)

    # --- signing secret ----------------------------------------------------------------
    def rotate_signing_secret(self, overlap: timedelta | None = None) -> str:
        """A new signing secret, returned once; the current one keeps signing for `overlap`
        (SIGNING_SECRET_OVERLAP_HOURS by default), so receivers can switch without a gap."""
        from connectors.signing import generate_secret

        if overlap is None:
            overlap = timedelta(hours=settings.SIGNING_SECRET_OVERLAP_HOURS)
        current = self.signing_secret
        keep = bool(current) and overlap > timedelta(0) and not secrets.is_undecryptable(current)
        self.signing_secret = generate_secret()
        self.set_previous_signing_secret(current if keep else "", overlap)
        self.save(
            update_fields=[
                "signing_secret",
                "previous_signing_secret",
                "previous_signing_secret_expires_at",
                "updated_at",
            ]
        )
        return self.signing_secret

    def set_previous_signing_secret(self, secret: str, overlap: timedelta | None = None) -> None:
        if overlap is None:
            overlap = timedelta(hours=settings.SIGNING_SECRET_OVERLAP_HOURS)
        self.previous_signing_secret = secret
        self.previous_signing_secret_expires_at = timezone.now() + overlap if secret else None

    def signing_secrets(self) -> list[str]:
        """The secrets that sign a request now: the current one, and the previous one during
        its overlap. An expired previous secret is dropped here, lazily: no scheduled job."""
        current = [self.signing_secret] if self.signing_secret else []
        previous = self.previous_signing_secret
        if not previous:
            return current
        expires_at = self.previous_signing_secret_expires_at
        if expires_at is None or timezone.now() < expires_at:
            return [*current, previous]
        # Guarded on the expiry read, so a rotation that raced this keeps its new previous secret.
        Connector.objects.filter(pk=self.pk, previous_signing_secret_expires_at=expires_at).update(
            previous_signing_secret="", previous_signing_secret_expires_at=None
        )
        self.previous_signing_secret, self.previous_signing_secret_expires_at = "", None
        return current

    # --- secrets at rest ---------------------------------------------------------------
    def undecryptable_secrets(self, headers=None) -> list[str]:
        """The stored secrets no key of FIELD_ENCRYPTION_KEY opens (the key changed), by name.

        Only columns already loaded are looked at; `headers` spares a query when the caller
        has them.
        """
        loaded = self.__dict__
        names = [name for name in SECRET_FIELDS if secrets.is_undecryptable(loaded.get(name))]
        rows = self.headers.all() if headers is None else headers
        names += [f"header {h.name}" for h in rows if secrets.is_undecryptable(h.value)]
        return names

    def pause_for_undecryptable(self, names: list[str]) -> str:
        """Stop using the connector: sending without its secrets would fail, or worse, leak less
        than intended. Its deliveries wait until it is enabled again. The reason, for errors."""
        reason = (
            f"Paused: {', '.join(names)} {secrets.UNDECRYPTABLE}. Restore the old key in "
            "FIELD_ENCRYPTION_KEY, or enter the secrets again, then enable the connector."
        )
        Connector.objects.filter(pk=self.pk).update(enabled=False, disabled_reason=reason[:500])
        self.enabled, self.disabled_reason = False, reason[:500]
        return reason

    def verify_sender(self, headers, raw_body: bytes, now, query=None):
        """Check a request to this ingest endpoint against its `verification` setting.

        Returns `Verified` (with the event id to de-duplicate on, if any); raises
        `VerificationFailed`, whose reason is fit for the 401 answer.
        """
        from connectors.verification import verify

        return verify(
            self.verification, headers, raw_body, now, query=query, check_token=self.check_token
        )

    # --- headers -------------------------------------------------------------------
    def header_dict(self) -> dict[str, str]:
        return {h.name: h.value for h in self.headers.all()}

    def secret_header_names(self) -> set[str]:
        return {h.name for h in self.headers.all() if h.secret}

    @transaction.atomic
    def replace_headers(self, headers: list[dict]) -> None:
        """Set all headers; a secret sent back masked keeps its stored value."""
        kept = {h.name.lower(): h.value for h in self.headers.all()}
        self.headers.all().delete()
        rows = []
        for i, header in enumerate(headers):
            value = header.get("value", "")
            # What the page showed for a secret (masked or undecryptable), sent back unchanged.
            if value in (secrets.MASK, secrets.UNDECRYPTABLE):
                value = kept.get(header["name"].lower(), "")
            rows.append(
                Header(
                    connector=self,
                    position=i,
                    name=header["name"],
                    value=value,
                    secret=header.get("secret", False),
                )
            )
        Header.objects.bulk_create(rows)


# The connector's own encrypted columns (header values are encrypted in Header).
SECRET_FIELDS = secrets.encrypted_fields(Connector)


class Header(models.Model):
    """A header sent with outbound requests. Every value is encrypted at rest; secret ones are never shown."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="headers")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200)
    value = secrets.EncryptedTextField(blank=True)
    secret = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.display_value}"

    @property
    def display_value(self) -> str:
        return secrets.mask(self.value) if self.secret else str(self.value)


# Management API tokens live in their own module; imported here so Django finds the model.
from connectors.api_tokens import ApiToken  # noqa: E402, F401
from connectors.audit_log import AuditEntry  # noqa: E402, F401
