"""The four connector kinds: what each needs, checks and offers.

One small class per kind on one base class, so behaviour that differs by kind lives
here instead of in `if kind == ...` chains across the code.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from croniter import croniter

from connectors.secret_variables import redaction_forms, usable
from connectors.templating import TemplateError, compile_template, is_template
from connectors.throttling import is_valid_rate
from connectors.verification import InvalidVerification, clean_verification

PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")

PAGINATION_DEFAULTS = {
    "none": {},
    "page": {"param": "page", "start": 1, "size_param": "per_page", "size": 100},
    "offset": {"param": "offset", "limit_param": "limit", "limit": 100},
    "cursor": {"param": "cursor", "cursor_path": "meta.next_cursor"},
    "next_url": {"next_url_path": "links.next"},
    "link_header": {},
}


class ConnectorKind:
    name: ClassVar[str]
    # The kind's name, written the same on every page ("HTTP source", never "Http Source").
    label: ClassVar[str]
    plural: ClassVar[str]
    direction: ClassVar[str]  # "source" or "destination"
    has_token: ClassVar[bool] = False
    calls: ClassVar[str]  # who calls whom, for people
    summary: ClassVar[str]
    # Connector attributes this kind uses, beyond name/slug/schema/enabled.
    fields: ClassVar[tuple[str, ...]] = ()

    def clean(self, connector, field_names: set[str]) -> dict[str, str]:
        """Configuration errors by field name, in words a non-programmer understands."""
        return {}


class IngestEndpointKind(ConnectorKind):
    name = "ingest_endpoint"
    label = "Ingest endpoint"
    plural = "Ingest endpoints"
    direction = "source"
    has_token = True
    calls = "Your system calls us"
    summary = "We give you a secure URL; your system POSTs records (JSON, NDJSON or CSV) to it."
    fields = ("all_or_nothing", "drop_unknown_fields", "throttle_rate", "verification")

    def clean(self, connector, field_names: set[str]) -> dict:
        errors: dict = {}
        if connector.throttle_rate and not is_valid_rate(connector.throttle_rate):
            errors["throttle_rate"] = (
                "Use a number of requests per second, minute, hour or day, e.g. 600/min."
            )
        try:
            connector.verification = clean_verification(connector.verification)
        except InvalidVerification as exc:
            errors["verification"] = {exc.field or "non_field_errors": exc.message}
        return errors


class MailboxKind(ConnectorKind):
    name = "mailbox"
    label = "Mailbox"
    plural = "Mailboxes"
    direction = "destination"
    has_token = True
    calls = "Your system calls us"
    summary = "Clean records wait in a mailbox; your system polls it with GET and acknowledges what it took."
    fields = ("retention_days",)

    def clean(self, connector, field_names: set[str]) -> dict[str, str]:
        if connector.retention_days < 1:
            return {"retention_days": "Keep records at least 1 day."}
        return {}


class HttpKind(ConnectorKind):
    """What the two kinds that call a customer's API share: a URL template, method, auth."""

    methods: ClassVar[tuple[str, ...]]
    url_variables_from_schema: ClassVar[bool]

    def clean(self, connector, field_names: set[str]) -> dict[str, str]:
        errors = {}
        connector.method = connector.method or self.methods[0]
        url_error = move_url_credentials(connector) or self.clean_url(connector, field_names)
        if url_error:
            errors["url"] = url_error
        if connector.method not in self.methods:
            errors["method"] = f"Use one of {', '.join(self.methods)}."
        if not 1 <= connector.timeout_seconds <= 300:
            errors["timeout_seconds"] = "Use a timeout between 1 and 300 seconds."
        from connectors.secrets import is_undecryptable

        # An undecryptable auth is kept as it is (shown as such) until entered again.
        if connector.auth and not is_undecryptable(connector.auth):
            from connectors.auth import validate_auth

            try:
                connector.auth = validate_auth(connector.auth)
            except ValueError as exc:
                errors["auth"] = str(exc)
        return errors

    def clean_url(self, connector, field_names: set[str]) -> str | None:
        url = connector.url.strip()
        if not url:
            return "Enter the URL to call."
        try:
            template = compile_template(url)
        except TemplateError as exc:
            return f"The URL template is invalid: {exc}"
        unknown = template.variables - self.url_variables(connector, field_names)
        if unknown:
            return f"The URL uses {', '.join(sorted(unknown))}, which the schema does not define."
        secret_values = usable(connector.secret_variables)
        if not secret_values:
            return self.clean_url_shape(url)
        # `{{ webhook_url }}` alone is a URL once its secret is filled in: check that URL, and
        # keep the secret out of what the check says.
        from connectors.redaction import Redactor

        error = self.clean_url_shape(fill_secrets(url, secret_values))
        return Redactor(redaction_forms(secret_values)).redact(error) if error else None

    def clean_url_shape(self, url: str) -> str | None:
        try:
            # Placeholders may sit anywhere; check the literal shape with them filled in.
            netloc = urlsplit(url).netloc
            parts = urlsplit(fill_placeholders(url))
        except ValueError as exc:
            return f"This is not a valid URL: {exc}."
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "Enter a full URL starting with https:// (or http://)."
        port_error = check_port(netloc, parts)
        if port_error:
            return port_error
        if not is_template(netloc):
            from connectors.http import (
                InvalidDestination,
                UnresolvableHost,
                UnsafeDestination,
                check_destination,
            )

            try:
                check_destination(url)
            except (InvalidDestination, UnsafeDestination) as exc:
                return exc.message
            except UnresolvableHost:
                pass  # DNS may be down or the host not yet live; sending checks again.
        return None

    def url_variables(self, connector, field_names: set[str]) -> set[str]:
        return set(connector.variables or {}) | set(usable(connector.secret_variables))


class HttpDestinationKind(HttpKind):
    name = "http_destination"
    label = "HTTP destination"
    plural = "HTTP destinations"
    direction = "destination"
    calls = "We call your system"
    summary = "We call your API with each record (or batch), retrying until it is delivered."
    methods = ("POST", "PUT", "PATCH")
    fields = (
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
        "previous_signing_secret_expires_at",
        "rate_limit_per_second",
        "max_concurrency",
        "disable_after_failing_days",
    )

    def url_variables(self, connector, field_names: set[str]) -> set[str]:
        names = {name.split(".")[0] for name in field_names}
        return super().url_variables(connector, field_names) | names | {"record", "records"}

    def clean(self, connector, field_names: set[str]) -> dict[str, str]:
        errors = super().clean(connector, field_names)
        if not 1 <= connector.batch_size <= 1000:
            errors["batch_size"] = "Send between 1 and 1000 records per request."
        if not 1 <= connector.max_attempts <= 50:
            errors["max_attempts"] = "Use between 1 and 50 attempts."
        if connector.body_template:
            try:
                compile_template(connector.body_template)
            except TemplateError as exc:
                errors["body_template"] = f"The body template is invalid: {exc}"
        if connector.rate_limit_per_second is not None and connector.rate_limit_per_second <= 0:
            errors["rate_limit_per_second"] = "Use a positive number of requests per second."
        return errors


class HttpSourceKind(HttpKind):
    name = "http_source"
    label = "HTTP source"
    plural = "HTTP sources"
    direction = "source"
    calls = "We call your system"
    summary = "We call your API on a schedule, follow its pages and read the records it returns."
    methods = ("GET", "POST")
    fields = (
        "url",
        "method",
        "auth",
        "timeout_seconds",
        "variables",
        "secret_variables",
        "body",
        "records_path",
        "pagination",
        "schedule",
        "max_pages",
        "cursor_field",
        "primary_key",
    )

    def url_variables(self, connector, field_names: set[str]) -> set[str]:
        return super().url_variables(connector, field_names) | {"state", "now"}

    def clean(self, connector, field_names: set[str]) -> dict[str, str]:
        errors = super().clean(connector, field_names)
        if connector.records_path:
            from connectors.formats import validate_records_path

            try:
                validate_records_path(connector.records_path)
            except ValueError as exc:
                errors["records_path"] = str(exc)
        for field, check in (("pagination", clean_pagination), ("schedule", clean_schedule)):
            try:
                setattr(connector, field, check(getattr(connector, field)))
            except ValueError as exc:
                errors[field] = str(exc)
        if not 1 <= connector.max_pages <= 100_000:
            errors["max_pages"] = "Read between 1 and 100,000 pages per run."
        if connector.body:
            try:
                compile_template(connector.body)
            except TemplateError as exc:
                errors["body"] = f"The body template is invalid: {exc}"
        return errors


def move_url_credentials(connector) -> str | None:
    """Credentials written in the URL (`https://user:password@host/`) become its basic auth.

    A URL is stored in clear and shown on pages, in the API and in attempt logs; auth is
    encrypted at rest and always shown masked (a username given without a password too: it is
    a token). The request sent is the same: `requests` turns userinfo into that very
    Authorization header. The error, when they cannot be moved.
    """
    url = connector.url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None  # clean_url names what is wrong with it
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return None
    if PLACEHOLDER.search(userinfo):
        return "Credentials in the URL cannot be templated: set them in auth (basic) instead."
    auth = connector.auth or {}
    if auth.get("type", "none") != "none":
        return (
            "The URL holds credentials (user:password@) and auth is set too: remove them from "
            "the URL, and set them in auth (basic) if they are the ones to send."
        )
    username, _, password = userinfo.partition(":")
    connector.auth = {"type": "basic", "username": unquote(username), "password": unquote(password)}
    if not password:
        # `https://token@host/`: a username alone is the key itself.
        connector.auth["username_secret"] = True
    connector.url = urlunsplit(parts._replace(netloc=host))
    return None


def clean_pagination(value: dict | None) -> dict:
    """Fill defaults and check one of the contract's pagination styles."""
    value = dict(value or {"type": "none"})
    kind = value.get("type", "none")
    if kind not in PAGINATION_DEFAULTS:
        raise ValueError(
            f"Unknown pagination type '{kind}'; use one of {', '.join(PAGINATION_DEFAULTS)}."
        )
    cleaned = {"type": kind, **PAGINATION_DEFAULTS[kind], **value}
    for key in ("start", "size", "limit"):
        if key in cleaned and (not isinstance(cleaned[key], int) or cleaned[key] < 0):
            raise ValueError(f"Pagination '{key}' must be a whole number.")
    if kind in ("page", "offset") and cleaned.get("size", cleaned.get("limit")) == 0:
        raise ValueError("The page size must be at least 1.")
    return cleaned


def clean_schedule(value: dict | None) -> dict:
    value = dict(value or {})
    if not value:
        return {}
    if set(value) == {"every_minutes"}:
        minutes = value["every_minutes"]
        if not isinstance(minutes, int) or not 1 <= minutes <= 32_767:
            raise ValueError("'every_minutes' must be a whole number of minutes, from 1 to 32,767.")
        return value
    if set(value) == {"cron"}:
        if not isinstance(value["cron"], str) or not croniter.is_valid(value["cron"]):
            raise ValueError(
                f"'{value['cron']}' is not a valid cron expression (e.g. */15 * * * *)."
            )
        return value
    raise ValueError('Use {"every_minutes": N} or {"cron": "*/15 * * * *"}.')


def check_port(netloc: str, filled: SplitResult) -> str | None:
    """Why the port of a URL (``netloc`` as written, ``filled`` with placeholders filled) is unusable."""
    port_text = netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if is_template(port_text):
        return "A placeholder cannot be the port; write the port number itself."
    try:
        port = filled.port
    except ValueError:
        port = 0
    if port == 0 and port_text:
        return "The port must be a number from 1 to 65535."
    return None


def fill_placeholders(text: str, filler: str = "x") -> str:
    return PLACEHOLDER.sub(filler, text)


def fill_secrets(text: str, values: dict[str, str]) -> str:
    """`text` with each `{{ name }}` of a secret variable replaced by its value."""

    def fill(match: re.Match) -> str:
        placeholder = match.group(0)
        if placeholder.startswith("{{"):
            return values.get(placeholder[2:-2].strip(), placeholder)
        return placeholder

    return PLACEHOLDER.sub(fill, text)


REGISTRY: dict[str, ConnectorKind] = {
    kind.name: kind
    for kind in (IngestEndpointKind(), MailboxKind(), HttpSourceKind(), HttpDestinationKind())
}
SOURCE_KINDS = tuple(name for name, kind in REGISTRY.items() if kind.direction == "source")
DESTINATION_KINDS = tuple(
    name for name, kind in REGISTRY.items() if kind.direction == "destination"
)


def get_kind(name: str) -> ConnectorKind:
    return REGISTRY[name]
