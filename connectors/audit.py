"""The audit log: who changed which configuration, when, and how (docs/teams.md).

Changes are caught where they cannot be missed, on the models: a `pre_save` / `pre_delete` /
`m2m_changed` of an audited object (or of one of its parts: a schema field, a header, a
mapping, a user's groups) snapshots the whole object from the database, once per scope; when
the scope ends the object is read again and the difference is recorded. A scope is a web
request (`AuditMiddleware`: the API, the pages and the Django admin alike) or a command
(`with audit.scope("command: config apply")`). Reading both sides from the database means
a change that was rolled back records nothing, and a save that changed nothing neither.

Snapshots show what the API shows, so every secret is masked; a secret that changed behind
its mask is recorded as `{"from": "********", "to": "********"}`, decided by comparing
digests kept in memory only. Actions that are no model save (a replay, a resend, an
encryption key rotation) call `record()`.

Entries are never edited or deleted by the app, except by the retention purge
(AUDIT_RETENTION_DAYS), a daily django-q2 schedule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.utils import timezone

from connectors.audit_log import AuditEntry
from connectors.secrets import MASK, encrypted_fields

# --- who ---------------------------------------------------------------------------------------


@dataclass
class Scope:
    """A request or a command: who acts, and the objects it touched with their state before."""

    label: str = ""
    request: Any = None
    user: Any = None  # set when the request's own user is not who acts (a token's password)
    pending: dict[tuple[str, str], Pending] = field(default_factory=dict)

    def actor(self) -> tuple[str, Any, str]:
        """(display, user, token name)."""
        from connectors.roles import request_token

        user = self.user
        token = None
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
            token = request_token(self.request)
        if user is None or not user.is_authenticated:
            return (self.label or "system", None, "")
        name = user.get_username()
        if token is not None:
            shown = token.name or token.prefix
            return (f"{name} (token “{shown}”)", user, token.name or token.prefix)
        return (f"{name} ({self.label})" if self.label else name, user, "")


_scope: ContextVar[Scope | None] = ContextVar("audit_scope", default=None)


@contextmanager
def scope(label: str = "", *, request=None):
    """Record the changes made inside, as done by the request's user or by `label`."""
    outer = _scope.get()
    if outer is not None:  # a command called from a request, a nested command: one scope
        yield outer
        return
    current = Scope(label=label, request=request)
    reset = _scope.set(current)
    try:
        yield current
    finally:
        _scope.reset(reset)
        flush(current)


def act_as(user) -> None:
    """The request acts for this user (e.g. issuing a token with a username and password)."""
    current = _scope.get()
    if current is not None:
        current.user = user


class AuditMiddleware:
    """Every request is a scope: its changes are recorded when its response is ready."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with scope(request=request):
            return self.get_response(request)


# --- what ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    name: str
    shown: dict  # secrets masked
    digests: dict = field(default_factory=dict)  # secret name -> digest, never stored


@dataclass(frozen=True)
class Audited:
    """A kind of configuration object: how to read it, and its parts (models that belong to it)."""

    object_type: str
    model: type
    load: Callable[[Any], Any]
    snapshot: Callable[[Any], Snapshot]
    parts: dict = field(default_factory=dict)  # part model -> function(part) -> owner's pk
    action: Callable[[set[str]], str | None] = lambda changed: None


REGISTRY: dict[str, Audited] = {}


def register(audited: Audited) -> None:
    """Audit changes of this object type (and of its parts) from now on."""
    REGISTRY[audited.object_type] = audited
    uid = f"audit.{audited.object_type}"
    pre_save.connect(_root_pre_save, sender=audited.model, dispatch_uid=f"{uid}.pre_save")
    post_save.connect(_root_post_save, sender=audited.model, dispatch_uid=f"{uid}.post_save")
    pre_delete.connect(_root_pre_save, sender=audited.model, dispatch_uid=f"{uid}.pre_delete")
    for part in audited.parts:
        pre_save.connect(_part_changed, sender=part, dispatch_uid=f"{uid}.{part.__name__}.save")
        pre_delete.connect(_part_changed, sender=part, dispatch_uid=f"{uid}.{part.__name__}.delete")


def digest(value) -> str:
    raw = getattr(value, "stored", value)  # an undecryptable value: its ciphertext
    text = json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _audited_for(model) -> list[Audited]:
    return [a for a in REGISTRY.values() if a.model is model]


def touch(audited: Audited, pk) -> None:
    """Note the object's state before the scope changes it (the first time only)."""
    current = _scope.get()
    if current is None or pk is None:
        return
    key = (audited.object_type, str(pk))
    if key not in current.pending:
        obj = audited.load(pk)
        current.pending[key] = Pending(audited, pk, audited.snapshot(obj) if obj else None)


@dataclass
class Pending:
    audited: Audited
    pk: Any
    before: Snapshot | None


def _root_pre_save(sender, instance, **kwargs):
    if _scope.get() is None or instance._state.adding:
        return
    for audited in _audited_for(sender):
        touch(audited, instance.pk)


def _root_post_save(sender, instance, created, **kwargs):
    current = _scope.get()
    if current is None or not created:
        return
    for audited in _audited_for(sender):
        current.pending.setdefault(
            (audited.object_type, str(instance.pk)), Pending(audited, instance.pk, None)
        )


def _part_changed(sender, instance, **kwargs):
    if _scope.get() is None:
        return
    for audited in REGISTRY.values():
        if sender in audited.parts:
            touch(audited, audited.parts[sender](instance))


def groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A user's groups are their role: `user.groups.add()` is a change of the user."""
    audited = REGISTRY.get("user")
    if audited is None or not action.startswith("pre_"):
        return
    if not reverse:
        touch(audited, instance.pk)
    else:
        for pk in pk_set or instance.user_set.values_list("pk", flat=True):
            touch(audited, pk)


def diff(before: Snapshot | None, after: Snapshot | None) -> dict:
    """`{field: {"from": ..., "to": ...}}` of what differs; a secret that changed behind its
    mask shows as the mask on both sides."""
    old = before.shown if before else {}
    new = after.shown if after else {}
    old_digests = before.digests if before else {}
    new_digests = after.digests if after else {}
    changes = {}
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) != new.get(key):
            changes[key] = {"from": old.get(key), "to": new.get(key)}
    for key in sorted({*old_digests, *new_digests} - changes.keys()):
        if old_digests.get(key) != new_digests.get(key):
            changes[key] = {"from": MASK, "to": MASK}
    return changes


def flush(current: Scope) -> None:
    """Record what each touched object became (nothing if it ended as it began)."""
    pending, current.pending = current.pending, {}
    for item in pending.values():
        obj = item.audited.load(item.pk)
        after = item.audited.snapshot(obj) if obj is not None else None
        if item.before is None and after is None:
            continue  # created and rolled back (a dry run)
        changes = diff(item.before, after)
        if item.before is not None and after is not None and not changes:
            continue
        if item.before is None:
            action = "create"
        elif after is None:
            action = "delete"
        else:
            action = item.audited.action(set(changes)) or "update"
        write(
            current,
            action,
            item.audited.object_type,
            item.pk,
            (after or item.before).name,
            changes,
        )


def write(current: Scope | None, action, object_type, object_id, object_name, changes) -> None:
    display, user, token_name = current.actor() if current else ("system", None, "")
    AuditEntry.objects.create(
        actor=display[:300],
        user=user,
        token_name=token_name[:200],
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        object_name=str(object_name)[:300],
        changes=changes,
    )


def record(action: str, object_type: str, object_id, object_name: str = "", **changes) -> None:
    """An action that is no model save: `record("replay", "delivery", 7, status=("dead", "pending"))`.

    Each change is a (from, to) pair; never pass a secret.
    """
    write(
        _scope.get(),
        action,
        object_type,
        object_id,
        object_name,
        {key: {"from": old, "to": new} for key, (old, new) in changes.items()},
    )


def purge_old_entries(now=None) -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS (daily, by django-q2)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    return deleted


# --- the objects of this app -----------------------------------------------------------------------


def connector_snapshot(connector) -> Snapshot:
    from connectors.serializers import ConnectorSerializer

    shown = dict(ConnectorSerializer(connector).data)
    for runtime in (
        "id",
        "created_at",
        "updated_at",
        "state",
        "disabled_reason",
        "undecryptable_secrets",
        "has_signing_secret",
        "token_hint",
        "endpoint_url",
    ):
        shown.pop(runtime, None)
    digests = {}
    for name in encrypted_fields(type(connector)):
        value = getattr(connector, name)
        digests[name] = digest(value)
        if name in ("signing_secret", "previous_signing_secret") and connector.is_destination:
            shown[name] = MASK if value else ""
    digests["headers"] = digest([(h.name, h.value) for h in connector.headers.all() if h.secret])
    if connector.kind_class.has_token:
        shown["token"] = MASK if connector.token_hash else ""
        digests["token"] = digest(connector.token_hash)
    return Snapshot(connector.name, shown, digests)


def load_connector(pk):
    from connectors.models import Connector

    return (
        Connector.objects.select_related("schema")
        .prefetch_related("schema__fields", "headers")
        .filter(pk=pk)
        .first()
    )


def connector_of_schema(schema_id):
    from connectors.models import Connector

    return Connector.objects.filter(schema_id=schema_id).values_list("pk", flat=True).first()


def connector_action(changed: set[str]) -> str | None:
    if changed == {"token"}:
        return "rotate_token"
    if "signing_secret" in changed and changed <= {
        "signing_secret",
        "previous_signing_secret",
        "previous_signing_secret_expires_at",
    }:
        return "rotate_signing_secret"
    return None


def user_snapshot(user) -> Snapshot:
    from connectors.roles import own_role

    user.__dict__.pop("_role_groups", None)
    shown = {
        "username": user.get_username(),
        "email": user.email,
        "role": own_role(user) if user.is_active else None,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "password": MASK if user.has_usable_password() else "",
    }
    return Snapshot(user.get_username(), shown, {"password": digest(user.password)})


def token_snapshot(token) -> Snapshot:
    shown = {
        "name": token.name,
        "prefix": token.prefix,
        "user": token.user.get_username(),
        "role": token.role or None,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }
    return Snapshot(token.name or token.prefix, shown)


def register_own() -> None:
    from django.contrib.auth import get_user_model

    from connectors.api_tokens import ApiToken
    from connectors.models import Connector, Header, Schema, SchemaField

    User = get_user_model()
    register(
        Audited(
            "connector",
            Connector,
            load_connector,
            connector_snapshot,
            parts={
                Header: lambda header: header.connector_id,
                Schema: lambda schema: connector_of_schema(schema.pk),
                SchemaField: lambda field: connector_of_schema(field.schema_id),
            },
            action=connector_action,
        )
    )
    register(
        Audited(
            "user",
            User,
            lambda pk: User._default_manager.filter(pk=pk).first(),
            user_snapshot,
        )
    )
    register(
        Audited(
            "api_token",
            ApiToken,
            lambda pk: ApiToken.objects.select_related("user").filter(pk=pk).first(),
            token_snapshot,
            action=lambda changed: "revoke" if "revoked_at" in changed else None,
        )
    )
    m2m_changed.connect(
        groups_changed, sender=User.groups.through, dispatch_uid="audit.user.groups"
    )
