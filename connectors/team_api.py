"""The management API of the team: users with their roles (admins), and the audit log."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets

from connectors.audit_log import AuditEntry
from connectors.roles import ADMIN, EDITOR, ROLES, own_role, set_role
from connectors.team_forms import AuditFilterForm

User = get_user_model()


class RoleField(serializers.ChoiceField):
    """A user's role: read from their groups, written with `set_role`."""

    def get_attribute(self, user):
        return own_role(user) if user.is_active else None

    def to_representation(self, value):
        return value


class UserSerializer(serializers.ModelSerializer):
    role = RoleField(
        choices=ROLES,
        allow_null=True,
        help_text="viewer, editor or admin (a superuser is always an admin); null when "
        "deactivated or in no role.",
    )
    password = serializers.CharField(
        write_only=True, required=False, trim_whitespace=False, style={"input_type": "password"}
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "password",
            "role",
            "is_active",
            "is_superuser",
            "last_login",
            "date_joined",
        ]
        read_only_fields = ["is_superuser", "last_login", "date_joined"]

    def validate(self, attrs):
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": "A new user needs a password."})
        me = self.context["request"].user
        if self.instance is not None:
            if self.instance.pk == me.pk and ("role" in attrs or attrs.get("is_active") is False):
                raise serializers.ValidationError(
                    {"role": "You cannot change your own role or deactivate yourself."}
                )
            if self.instance.is_superuser and attrs.get("role", ADMIN) != ADMIN:
                raise serializers.ValidationError(
                    {"role": f"{self.instance.username} is a superuser, always an admin."}
                )
        if attrs.get("password"):
            candidate = self.instance or User(
                username=attrs.get("username", ""), email=attrs.get("email", "")
            )
            try:
                validate_password(attrs["password"], candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs

    def validate_role(self, role):
        if role is None:
            raise serializers.ValidationError("Choose viewer, editor or admin.")
        return role

    def create(self, validated_data):
        role = validated_data.pop("role")
        user = User.objects.create_user(**validated_data)
        set_role(user, role)
        return user

    def update(self, user, validated_data):
        role = validated_data.pop("role", None)
        password = validated_data.pop("password", None)
        user = super().update(user, validated_data)
        if password:
            user.set_password(password)
            user.save(update_fields=["password"])
        if role:
            set_role(user, role)
        return user


class UserViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The people who use this installation, with their role. Admins only; deactivate a user
    (`is_active: false`) instead of deleting them, so the audit log keeps its authors."""

    serializer_class = UserSerializer
    required_role = ADMIN
    queryset = User.objects.prefetch_related("groups").order_by("username")
    http_method_names = ["get", "post", "patch", "head", "options"]


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_name",
            "changes",
        ]
        read_only_fields = fields


class AuditEntryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Configuration changes and actions, newest first (editors and admins)."""

    serializer_class = AuditEntrySerializer
    required_role = EDITOR

    @extend_schema(
        parameters=[
            OpenApiParameter("object_type", str, description="connector, pipeline, user, ..."),
            OpenApiParameter("object_id", str),
            OpenApiParameter("user", str, description="A username."),
            OpenApiParameter("since", str, description="ISO 8601 time, inclusive."),
            OpenApiParameter("until", str, description="ISO 8601 time, exclusive."),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEntry.objects.none()
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        return form.filter(AuditEntry.objects.all())
