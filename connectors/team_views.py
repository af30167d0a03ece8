"""The team pages: users and their roles (admins), and the audit log (editors and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from connectors.audit_log import AuditEntry
from connectors.query_params import query_without_page
from connectors.roles import ADMIN, EDITOR, own_role, role_required, set_role
from connectors.team_forms import AuditFilterForm, NewUserForm, RoleForm

User = get_user_model()
PAGE_SIZE = 50


@role_required(role=ADMIN)
def user_list(request):
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = User.objects.create_user(data["username"], data["email"], data["password"])
        set_role(user, data["role"])
        messages.success(request, f"{user.username} can now sign in as {data['role']}.")
        return redirect("ui:users")
    users = User.objects.prefetch_related("groups").order_by("username")
    rows = [(user, own_role(user) if user.is_active else None) for user in users]
    return render(
        request, "connectors/users.html", {"rows": rows, "form": form, "roles": RoleForm()}
    )


def refuse_self(request, user) -> bool:
    if user.pk == request.user.pk:
        messages.error(request, "You cannot change your own role or deactivate yourself.")
        return True
    return False


@role_required(role=ADMIN)
@require_POST
def user_role(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST)
    if refuse_self(request, user):
        return redirect("ui:users")
    if user.is_superuser:
        messages.error(request, f"{user.username} is a superuser, always an admin.")
    elif form.is_valid():
        set_role(user, form.cleaned_data["role"])
        messages.success(request, f"{user.username} is now {form.cleaned_data['role']}.")
    return redirect("ui:users")


@role_required(role=ADMIN)
@require_POST
def user_active(request, pk: int):
    """Deactivate (or reactivate) a user: their sessions and API tokens stop working."""
    user = get_object_or_404(User, pk=pk)
    if refuse_self(request, user):
        return redirect("ui:users")
    user.is_active = request.POST.get("active") == "1"
    user.save(update_fields=["is_active"])
    state = "reactivated" if user.is_active else "deactivated"
    messages.success(request, f"{user.username} {state}.")
    return redirect("ui:users")


@role_required(role=EDITOR)
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.all()
    if form.is_bound and form.is_valid():
        entries = form.filter(entries)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "connectors/audit.html",
        {
            "form": form,
            "page": page,
            "entries": page.object_list,
            "query": query_without_page(request),
        },
    )
