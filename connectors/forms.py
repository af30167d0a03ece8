"""The connector forms of the web UI.

The browser edits the same document the API takes; `ConnectorForm` turns form fields into that
document and lets `ConnectorSerializer` validate and save it, so the UI and the API can never
disagree about what a valid connector is. Errors come back next to the field they are about.
"""

from __future__ import annotations

import json

from django import forms

from connectors import secrets
from connectors.auth import AUTH_TYPES, SECRET_USERNAME, secret_keys
from connectors.jsontext import MAX_JSON_DEPTH, first_too_deep, nesting_exceeds
from connectors.kinds import PAGINATION_DEFAULTS, REGISTRY
from connectors.models import SECRET_FIELDS, Connector
from connectors.secret_variables import usable as usable_secret_variables
from connectors.serializers import ConnectorSerializer, HeaderSerializer, SchemaSerializer
from connectors.verification_form import (
    KEEP_SECRET_HELP,
    VERIFICATION_FIELDS,
    VerificationFields,
    optional,
    verification_initial,
)

AUTH_LABELS = {
    "none": "No authentication (or a header below)",
    "bearer": "Bearer token",
    "basic": "Basic (username and password)",
    "api_key": "API key",
    "oauth2_client_credentials": "OAuth2 client credentials",
}
# Form field -> key of the auth document, per type.
AUTH_FIELDS = {
    "bearer": {"auth_token": "token"},
    "basic": {
        "auth_username": "username",
        "auth_password": "password",
        "auth_username_secret": SECRET_USERNAME,
    },
    "api_key": {"auth_in": "in", "auth_name": "name", "auth_value": "value"},
    "oauth2_client_credentials": {
        "auth_token_url": "token_url",
        "auth_client_id": "client_id",
        "auth_client_secret": "client_secret",
        "auth_scope": "scope",
        "auth_audience": "audience",
        "auth_client_auth": "client_auth",
    },
}
# Serializer error keys that belong to a differently named form field.
ERROR_FIELDS = {
    "schema": "schema_json",
    "headers": "headers_json",
    "auth": "auth_type",
    "pagination": "pagination_type",
    "schedule": "schedule_every_minutes",
    "variables": "variables_json",
}
# Blank rows of the secret variables editor, below the stored ones.
SECRET_VARIABLE_BLANK_ROWS = 2


class ConnectorForm(VerificationFields):
    """Create or edit one connector of one kind; `save()` returns it (and `issued_token` on create)."""

    name = forms.CharField(max_length=200)
    description = optional(
        forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "class": "prose"}))
    )
    enabled = optional(forms.BooleanField(initial=True))
    schema_json = forms.CharField(
        label="Schema",
        widget=forms.Textarea(attrs={"rows": 6}),
        initial='{"fields": []}',
        help_text='The fields as JSON: {"fields": [{"name": "email", "type": "email", "required": true}]}',
    )
    # ingest_endpoint
    all_or_nothing = optional(
        forms.BooleanField(help_text="Refuse the whole batch when any record is invalid.")
    )
    drop_unknown_fields = optional(
        forms.BooleanField(help_text="Drop fields the schema does not define.")
    )
    throttle_rate = optional(
        forms.CharField(max_length=20, help_text="e.g. 600/min; empty: the default.")
    )
    # mailbox
    retention_days = forms.IntegerField(
        min_value=1, initial=7, help_text="Acknowledged records are kept this many days."
    )
    # http_source, http_destination
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="Placeholders like {{ campaign_id }} take the value of that field of each record.",
    )
    method = forms.ChoiceField(choices=Connector.Method.choices)
    headers_json = optional(
        forms.CharField(
            label="Headers",
            widget=forms.Textarea(attrs={"rows": 3}),
            initial="[]",
            help_text='[{"name": "Authorization", "value": "Bearer ...", "secret": true}]',
        )
    )
    auth_type = forms.ChoiceField(
        label="Authentication", choices=[(t, AUTH_LABELS[t]) for t in AUTH_TYPES], initial="none"
    )
    auth_token = optional(forms.CharField(label="Token", widget=forms.PasswordInput))
    auth_username = optional(forms.CharField(label="Username"))
    auth_password = optional(forms.CharField(label="Password", widget=forms.PasswordInput))
    auth_username_secret = optional(
        forms.BooleanField(
            # app.js masks the username while this is checked, as it is being typed.
            widget=forms.CheckboxInput(attrs={"data-masks": "id_auth_username"}),
            label="The username is a secret",
            help_text="For APIs whose key is the username (Segment's write key): "
            "kept and shown masked, like the password.",
        )
    )
    auth_in = optional(
        forms.ChoiceField(
            label="Send the key in", choices=[("header", "a header"), ("query", "the query string")]
        )
    )
    auth_name = optional(forms.CharField(label="Header or parameter name", initial="X-Api-Key"))
    auth_value = optional(forms.CharField(label="Key", widget=forms.PasswordInput))
    auth_token_url = optional(forms.CharField(label="Token URL"))
    auth_client_id = optional(forms.CharField(label="Client ID"))
    auth_client_secret = optional(
        forms.CharField(label="Client secret", widget=forms.PasswordInput)
    )
    auth_scope = optional(forms.CharField(label="Scope"))
    auth_audience = optional(forms.CharField(label="Audience"))
    auth_client_auth = optional(
        forms.ChoiceField(
            label="Client authentication",
            choices=[("basic", "HTTP Basic"), ("body", "In the request body")],
        )
    )
    timeout_seconds = forms.IntegerField(label="Timeout (seconds)", min_value=1, initial=30)
    variables_json = optional(
        forms.CharField(
            label="Variables",
            widget=forms.Textarea(attrs={"rows": 2, "class": "prose"}),
            initial="{}",
            help_text='Constants for placeholders, as JSON: {"region": "eu"}',
        )
    )
    # http_destination
    batch_size = forms.IntegerField(
        min_value=1,
        initial=1,
        help_text="1: one request per record; more: a JSON array per request.",
    )
    body_template = optional(
        forms.CharField(
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="Empty: the record itself is the body. A template renders {{ record }} or {{ records }}.",
        )
    )
    max_attempts = forms.IntegerField(min_value=1, initial=8)
    initial_backoff_seconds = forms.IntegerField(
        label="First retry after (seconds)", min_value=0, initial=10
    )
    signing_secret = optional(
        forms.CharField(
            widget=forms.PasswordInput,
            help_text="Signs each request (Standard Webhooks). " + KEEP_SECRET_HELP,
        )
    )
    rate_limit_per_second = optional(forms.FloatField(label="Rate limit (requests per second)"))
    max_concurrency = optional(forms.IntegerField(min_value=1, label="Requests in flight at most"))
    disable_after_failing_days = forms.IntegerField(
        min_value=1, initial=5, label="Disable after failing for (days)"
    )
    # http_source
    body = optional(forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Request body"))
    records_path = optional(
        forms.CharField(help_text="Where the records are in the response, e.g. data.items")
    )
    pagination_type = forms.ChoiceField(
        label="Pagination", choices=[(t, t.replace("_", " ")) for t in PAGINATION_DEFAULTS]
    )
    pagination_param = optional(forms.CharField(label="Page / offset / cursor parameter"))
    pagination_size_param = optional(forms.CharField(label="Page size parameter"))
    pagination_size = optional(forms.IntegerField(label="Page size", min_value=1))
    pagination_start = optional(forms.IntegerField(label="First page", min_value=0))
    pagination_path = optional(
        forms.CharField(label="Path of the next cursor / URL in the response")
    )
    schedule_every_minutes = optional(forms.IntegerField(label="Every N minutes", min_value=1))
    schedule_cron = optional(forms.CharField(label="Or a cron expression"))
    max_pages = forms.IntegerField(min_value=1, initial=1000)
    cursor_field = optional(
        forms.CharField(help_text="Read only records newer than this field's last value.")
    )
    primary_key = optional(forms.CharField(help_text="Skip records already seen with this key."))

    ALWAYS = ("name", "description", "enabled", "schema_json")
    HTTP = (
        "url",
        "method",
        "headers_json",
        "auth_type",
        *(name for fields in AUTH_FIELDS.values() for name in fields),
        "timeout_seconds",
        "variables_json",
    )
    BY_KIND = {
        "ingest_endpoint": (
            "all_or_nothing",
            "drop_unknown_fields",
            "throttle_rate",
            "verification_scheme",
            *{name for fields in VERIFICATION_FIELDS.values() for name in fields},
            "verification_forget_previous",
        ),
        "mailbox": ("retention_days",),
        "http_destination": (
            *HTTP,
            "batch_size",
            "body_template",
            "max_attempts",
            "initial_backoff_seconds",
            "signing_secret",
            "rate_limit_per_second",
            "max_concurrency",
            "disable_after_failing_days",
        ),
        "http_source": (
            *HTTP,
            "body",
            "records_path",
            "pagination_type",
            "pagination_param",
            "pagination_size_param",
            "pagination_size",
            "pagination_start",
            "pagination_path",
            "schedule_every_minutes",
            "schedule_cron",
            "max_pages",
            "cursor_field",
            "primary_key",
        ),
    }

    def __init__(self, *args, kind: str, instance: Connector | None = None, **kwargs):
        self.kind = REGISTRY[kind]
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", initial_from(instance))
        super().__init__(*args, **kwargs)
        keep = set(self.ALWAYS) | set(self.BY_KIND[kind])
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "method" in self.fields:
            methods = self.kind.methods
            self.fields["method"].choices = [(m, m) for m in methods]
        if "headers_json" in self.fields:
            self.add_secret_variable_rows()
        if instance is not None:
            self.mark_stored_secrets(instance)
        self.mask_secret_username(instance)
        self.row_errors: dict[str, dict[int, list[str]]] = {"schema": {}, "headers": {}}
        # Messages about the schema or the headers as a whole (a name defined twice): the
        # editor shows them above its rows, since it hides the raw field they are attached to.
        self.table_errors: dict[str, list[str]] = {"schema": [], "headers": []}

    def mask_secret_username(self, instance: Connector | None) -> None:
        """A username that is a key, stored as one or flagged so in the form sent, is a password
        field: never put back into the page (a form refused for another field asks for it
        again)."""
        if "auth_username" not in self.fields:
            return
        stored = secret_keys(instance.auth or {}) if instance is not None else ()
        # As the checkbox reads what was sent ("false" and "0" are unchecked too).
        flagged = "username" in stored or self["auth_username_secret"].data
        if flagged:
            self.fields["auth_username"].widget = forms.PasswordInput()

    def mark_stored_secrets(self, instance: Connector) -> None:
        stored = instance.auth or {}
        hidden = secret_keys(stored)
        for fields in AUTH_FIELDS.values():
            for form_name, key in fields.items():
                if key in hidden and stored.get(key) and form_name in self.fields:
                    self.fields[form_name].help_text = KEEP_SECRET_HELP
        self.mark_stored_verification_secrets(instance)
        if "signing_secret" in self.fields and not instance.signing_secret:
            self.fields["signing_secret"].help_text = "Signs each request (Standard Webhooks)."

    def stored_secret_variables(self) -> dict[str, str]:
        return usable_secret_variables(self.instance.secret_variables if self.instance else {})

    def add_secret_variable_rows(self) -> None:
        """A name and a password input per secret variable: the stored ones, then blank rows.
        A stored value never reaches the browser; a blank value keeps it."""
        stored = list(self.stored_secret_variables())
        posted = [
            int(key.rpartition("_")[2])
            for key in self.data
            if key.startswith("secret_variable_name_") and key.rpartition("_")[2].isdigit()
        ]
        count = max(posted) + 1 if posted else len(stored) + SECRET_VARIABLE_BLANK_ROWS
        self.secret_variable_count = min(count, 100)
        for i in range(self.secret_variable_count):
            self.fields[f"secret_variable_name_{i}"] = optional(
                forms.CharField(
                    label=f"Secret variable {i + 1} name",
                    max_length=200,
                    initial=stored[i] if i < len(stored) else "",
                )
            )
            self.fields[f"secret_variable_value_{i}"] = optional(
                forms.CharField(
                    label=f"Secret variable {i + 1} value",
                    widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
                    strip=False,
                )
            )

    def secret_variable_rows(self):
        stored = self.stored_secret_variables()
        rows = []
        for i in range(getattr(self, "secret_variable_count", 0)):
            name = self[f"secret_variable_name_{i}"]
            rows.append((name, self[f"secret_variable_value_{i}"], name.value() in stored))
        return rows

    def secret_variables_document(self, data: dict) -> dict:
        stored = self.stored_secret_variables()
        document = {}
        for i in range(self.secret_variable_count):
            name = (data.get(f"secret_variable_name_{i}") or "").strip()
            if not name:
                continue  # a row whose name was cleared: that variable is removed
            value = data.get(f"secret_variable_value_{i}") or ""
            document[name] = value or (secrets.MASK if name in stored else "")
        return document

    @property
    def schema_row_errors(self) -> str:
        return json.dumps(self.row_errors["schema"])

    @property
    def header_row_errors(self) -> str:
        return json.dumps(self.row_errors["headers"])

    @property
    def schema_table_errors(self) -> str:
        return json.dumps(self.table_errors["schema"])

    @property
    def header_table_errors(self) -> str:
        return json.dumps(self.table_errors["headers"])

    # --- grouping for the template ------------------------------------------------------------
    def group(self, *names: str):
        return [self[name] for name in names if name in self.fields]

    def auth_groups(self):
        return [
            (auth_type, [self[name] for name in fields if name in self.fields])
            for auth_type, fields in AUTH_FIELDS.items()
        ]

    # --- validation -------------------------------------------------------------------------------
    def clean(self):
        data = super().clean()
        for name, parse in (
            ("schema_json", parse_schema),
            ("headers_json", parse_headers),
            ("variables_json", parse_object),
        ):
            if name in self.fields and name in data:
                try:
                    data[name] = parse(data[name])
                except ValueError as exc:
                    self.add_error(name, str(exc))
        if self.errors:
            return data
        serializer = ConnectorSerializer(
            self.instance, data=self.payload(data), partial=self.instance is not None
        )
        if not serializer.is_valid():
            self.add_serializer_errors(serializer.errors)
        self.serializer = serializer
        return data

    def payload(self, data: dict) -> dict:
        """The API document these form values describe."""
        payload = {
            "name": data["name"],
            "kind": self.kind.name,
            "description": data.get("description", ""),
            "enabled": data.get("enabled", False),
            "schema": data["schema_json"],
        }
        for name in self.BY_KIND[self.kind.name]:
            if not name.startswith(
                ("auth_", "pagination_", "schedule_", "verification_")
            ) and not name.endswith("_json"):
                payload[name] = data.get(name)
        for text_field in (
            "throttle_rate",
            "body_template",
            "body",
            "records_path",
            "cursor_field",
            "primary_key",
        ):
            if text_field in payload and payload[text_field] is None:
                payload[text_field] = ""
        if "headers_json" in self.fields:
            payload["headers"] = data.get("headers_json") or []
            payload["variables"] = data.get("variables_json") or {}
            payload["secret_variables"] = self.secret_variables_document(data)
            payload["auth"] = self.auth_document(data)
            if not data.get("signing_secret") and self.instance and self.instance.signing_secret:
                payload["signing_secret"] = secrets.MASK
        if "verification_scheme" in self.fields:
            payload["verification"] = self.verification_document(data)
        if "pagination_type" in self.fields:
            payload["pagination"] = pagination_document(data)
            payload["schedule"] = schedule_document(data)
        return payload

    def auth_document(self, data: dict) -> dict:
        auth_type = data.get("auth_type") or "none"
        document = {"type": auth_type}
        stored = (self.instance.auth or {}) if self.instance else {}
        hidden = secret_keys(stored)
        for form_name, key in AUTH_FIELDS.get(auth_type, {}).items():
            value = data.get(form_name) or ""
            if not value and key in hidden and stored.get(key) and stored.get("type") == auth_type:
                value = secrets.MASK  # blank means "keep the stored secret"
            if value:
                document[key] = value
        return document

    def add_serializer_errors(self, errors: dict) -> None:
        self.add_verification_errors(errors)
        for key, messages in errors.items():
            field = ERROR_FIELDS.get(key, key)
            if field not in self.fields:
                field = None
            if key in ("schema", "headers"):
                messages = self.flatten_rows(key, messages)
            for message in as_messages(messages):
                self.add_error(field, message)

    def flatten_rows(self, key: str, errors) -> list[str]:
        """Row errors of the schema or headers editor: kept per row for the editor, and as text."""
        if isinstance(errors, dict) and "fields" in errors:
            errors = errors["fields"]
        if isinstance(errors, list) and any(isinstance(e, dict) for e in errors):
            errors = dict(enumerate(errors))
        if not isinstance(errors, dict) or not all(isinstance(k, int) for k in errors):
            self.table_errors[key] += as_messages(errors)
            return as_messages(errors)
        noun = "Field" if key == "schema" else "Header"
        messages = []
        for index, row in sorted(errors.items()):
            if not row:
                continue
            row_messages = as_messages(row)
            self.row_errors[key][index] = row_messages
            messages.extend(f"{noun} {index + 1}, {m}" for m in row_messages)
        return messages

    def save(self) -> Connector:
        connector = self.serializer.save()
        self.issued_token = getattr(self.serializer, "issued_token", None)
        return connector


def as_messages(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in as_messages(v)]
    if isinstance(value, list):
        return [m for item in value for m in as_messages(item)]
    return [str(value)]


def parse_json(text: str, what: str):
    too_deep = ValueError(f"The {what} is nested more than {MAX_JSON_DEPTH} levels deep.")
    try:
        value = json.loads(text or "null")
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"The {what} is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:  # the standard library's reader recurses once per level
        raise too_deep from None
    # One level for the list around records.
    if nesting_exceeds(value, MAX_JSON_DEPTH + 1):
        raise too_deep
    return value


def parse_schema(text: str) -> dict:
    value = parse_json(text, "schema")
    if isinstance(value, list):
        value = {"fields": value}
    if not isinstance(value, dict) or not isinstance(value.get("fields", []), list):
        raise ValueError('Write the schema as {"fields": [...]}.')
    return {"fields": value.get("fields", [])}


def parse_headers(text: str) -> list:
    value = parse_json(text, "header list") or []
    if not isinstance(value, list):
        raise ValueError('Write the headers as a list: [{"name": "...", "value": "..."}].')
    return value


def parse_object(text: str) -> dict:
    value = parse_json(text, "variables") or {}
    if not isinstance(value, dict):
        raise ValueError('Write the variables as an object: {"name": "value"}.')
    return value


def pagination_document(data: dict) -> dict:
    kind = data.get("pagination_type") or "none"
    document: dict = {"type": kind}
    given = {
        "param": data.get("pagination_param"),
        "size_param": data.get("pagination_size_param"),
        "size": data.get("pagination_size"),
        "start": data.get("pagination_start"),
        "path": data.get("pagination_path"),
    }
    keys = {
        "page": {"param": "param", "size_param": "size_param", "size": "size", "start": "start"},
        "offset": {"param": "param", "size_param": "limit_param", "size": "limit"},
        "cursor": {"param": "param", "path": "cursor_path"},
        "next_url": {"path": "next_url_path"},
    }.get(kind, {})
    for form_key, doc_key in keys.items():
        if given[form_key] not in (None, ""):
            document[doc_key] = given[form_key]
    return document


def schedule_document(data: dict) -> dict:
    if data.get("schedule_every_minutes"):
        return {"every_minutes": data["schedule_every_minutes"]}
    if data.get("schedule_cron"):
        return {"cron": data["schedule_cron"].strip()}
    return {}


def initial_from(connector: Connector) -> dict:
    """Form values for an existing connector: every secret stays out (masked or blank)."""
    initial = {
        field.name: getattr(connector, field.name)
        for field in Connector._meta.concrete_fields
        if field.name not in (*SECRET_FIELDS, "schema")
    }
    initial["schema_json"] = json.dumps(SchemaSerializer(connector.schema).data)
    initial["headers_json"] = json.dumps(
        [HeaderSerializer(h).data for h in connector.headers.all()]
    )
    initial["variables_json"] = json.dumps(connector.variables or {})
    auth = connector.auth or {}
    hidden = secret_keys(auth)
    initial["auth_type"] = auth.get("type", "none")
    for fields in AUTH_FIELDS.values():
        for form_name, key in fields.items():
            if key not in hidden and key in auth:
                initial[form_name] = auth[key]
    initial.update(verification_initial(connector))
    pagination = connector.pagination or {"type": "none"}
    initial["pagination_type"] = pagination.get("type", "none")
    initial["pagination_param"] = pagination.get("param")
    initial["pagination_size_param"] = pagination.get("size_param") or pagination.get("limit_param")
    initial["pagination_size"] = pagination.get("size") or pagination.get("limit")
    initial["pagination_start"] = pagination.get("start")
    initial["pagination_path"] = pagination.get("cursor_path") or pagination.get("next_url_path")
    schedule = connector.schedule or {}
    initial["schedule_every_minutes"] = schedule.get("every_minutes")
    initial["schedule_cron"] = schedule.get("cron")
    return initial


class SampleRecordForm(forms.Form):
    """One JSON record (or a list of them), as a person pastes it."""

    record = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), label="Record (JSON)")

    def clean_record(self):
        try:
            value = parse_json(self.cleaned_data["record"], "record")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        records = value if isinstance(value, list) else [value]
        if not records or not all(isinstance(r, dict) for r in records):
            raise forms.ValidationError('Write a JSON object, like {"email": "ada@example.com"}.')
        index = first_too_deep(records)
        if index is not None:
            which = "The record" if len(records) == 1 else f"Record {index + 1}"
            raise forms.ValidationError(
                f"{which} is nested more than {MAX_JSON_DEPTH} levels deep."
            )
        return records
