"""Who may do what: three roles on Django's own users and groups (docs/teams.md).

`viewer` reads everything (never a secret) and changes nothing; `editor` also configures,
tests, replays, resends and uploads; `admin` also manages users and roles. A user's role is
the highest of the groups `viewer`, `editor` and `admin` they belong to; a superuser is an
admin; a staff user in none of those groups is an editor, which is what staff could do before
roles existed. An API token may carry a lower role than its owner's: a request acts with the
lower of the two.

Enforced in one place per surface: `RolePermission` for the management API (the default
permission class), `role_required` for the pages; templates ask `can_edit` and `is_admin`.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
# Lowest first: a role may do everything the ones before it may.
ROLES = (VIEWER, EDITOR, ADMIN)
READ_METHODS = ("GET", "HEAD", "OPTIONS")


def rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


def lower(a: str | None, b: str | None) -> str | None:
    return a if rank(a) <= rank(b) else b


def own_role(user) -> str | None:
    """The user's role from their groups (cached on the user object for the request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    if not hasattr(user, "_role_groups"):
        user._role_groups = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user._role_groups:
        return max(user._role_groups, key=rank)
    return EDITOR if user.is_staff else None


def role_of(user, token=None) -> str | None:
    """The role a request acts with: the user's, capped by the token's own role if it has one."""
    role = own_role(user)
    token_role = getattr(token, "role", "")
    return lower(role, token_role) if role and token_role else role


def has_role(user, needed: str, token=None) -> bool:
    return rank(role_of(user, token)) >= rank(needed)


def needed_role(method: str, declared: str | None = None) -> str:
    """A view's declared role, else viewer to read and editor to change."""
    return declared or (VIEWER if method in READ_METHODS else EDITOR)


class RolePermission(BasePermission):
    """The management API's default permission: reads need a viewer, changes an editor; a view
    may declare `required_role` (e.g. "admin"), which then applies to every method."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        needed = needed_role(request.method, getattr(view, "required_role", None))
        role = role_of(request.user, request_token(request))
        if rank(role) < rank(needed):
            self.message = (
                f"This needs the {needed} role; you have "
                f"{f'the {role} role' if role else 'no role'}."
            )
            return False
        return True


def request_token(request):
    """The personal API token that authenticated the request, if any."""
    from connectors.api_tokens import ApiToken

    token = getattr(request, "auth", None)
    return token if isinstance(token, ApiToken) else None


def role_required(view=None, *, role: str | None = None):
    """For pages: anonymous people go to the login page; GET and HEAD need a viewer, other
    methods an editor, or `role` for every method. A role too low gets a 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, needed_role(request.method, role)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def role_context(request) -> dict:
    """Template context: the role, and whether the changing buttons and admin links show."""
    role = role_of(getattr(request, "user", None))
    return {"role": role, "can_edit": rank(role) >= rank(EDITOR), "is_admin": role == ADMIN}


# --- groups ---------------------------------------------------------------------------------
# The apps whose models the roles work on (by label: this app imports nothing from above).
ROLE_APPS = ("connectors", "mailbox", "pipelines")
# Personal tokens and the audit log are not the roles' to edit in the Django admin.
ADMIN_ONLY_MODELS = {("connectors", "apitoken"), ("connectors", "auditentry")}


def role_permissions(role: str):
    """The Django model permissions each role's group holds, so the Django admin enforces the
    roles too: viewers view, editors add/change/delete/view, admins also users and groups."""
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(content_type__app_label__in=ROLE_APPS).select_related(
        "content_type"
    )
    chosen = []
    for perm in perms:
        model = (perm.content_type.app_label, perm.content_type.model)
        if model in ADMIN_ONLY_MODELS:
            if role == ADMIN or (role == EDITOR and perm.codename == "view_auditentry"):
                chosen.append(perm)
        elif role != VIEWER or perm.codename.startswith("view_"):
            chosen.append(perm)
    if role == ADMIN:
        chosen += Permission.objects.filter(
            content_type__app_label="auth", content_type__model__in=("user", "group")
        )
    return chosen


def ensure_role_groups(using: str = "default") -> None:
    """Create the three groups with their permissions (after every migrate)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group

    # Permissions of apps migrated after this one do not exist yet on a first migrate.
    for label in (*ROLE_APPS, "auth"):
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set(role_permissions(role))


def ensure_role_groups_after_migrate(sender, using="default", **kwargs) -> None:
    ensure_role_groups(using)


def set_role(user, role: str) -> None:
    """Give the user this one role (and staff status, which the Django admin's login wants)."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: one of {', '.join(ROLES)}.")
    if not Group.objects.filter(name=role).exists():
        ensure_role_groups()
    groups = Group.objects.filter(name__in=ROLES)
    user.groups.remove(*[g for g in groups if g.name != role])
    user.groups.add(next(g for g in groups if g.name == role))
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_role_groups", None)
