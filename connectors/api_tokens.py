"""Personal tokens for the management API (`Authorization: Token <key>`), stored hashed.

The key is shown once, when it is issued; the database keeps its SHA-256 hash and a short
prefix that lets people tell their tokens apart. Like the endpoint tokens of connectors, keys
carry 256 random bits, so a plain hash is enough.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from connectors import secrets

KEY_PREFIX = "sca_"
SHOWN_CHARS = len(KEY_PREFIX) + 4
# `last_used_at` is written at most this often, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenQuerySet(models.QuerySet):
    def revoke(self) -> int:
        """Revoke each one by one: a revocation is audited like any other change."""
        tokens = list(self.filter(revoked_at__isnull=True))
        for token in tokens:
            token.revoke()
        return len(tokens)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters of the key")
    # Every authenticated API request looks its token up by this hash.
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Empty: the owner's role. Either way a request acts with at most the owner's current role.
    role = models.CharField(
        max_length=10,
        blank=True,
        choices=[("viewer", "viewer"), ("editor", "editor"), ("admin", "admin")],
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'}) of {self.user}"

    @classmethod
    def issue(
        cls, user, *, name: str = "", expires_in: timedelta | None = None, role: str = ""
    ) -> tuple[ApiToken, str]:
        """A new token and its key: the key is returned this once and never stored."""
        key = KEY_PREFIX + secrets.generate_token().removeprefix(secrets.TOKEN_PREFIX)
        return cls.store(user, key, name=name, expires_in=expires_in, role=role), key

    @classmethod
    def store(
        cls, user, key: str, *, name: str = "", expires_in: timedelta | None = None, **fields
    ) -> ApiToken:
        shown = SHOWN_CHARS if key.startswith(KEY_PREFIX) else 4
        return cls.objects.create(
            user=user,
            name=name,
            prefix=key[:shown],
            key_hash=secrets.hash_token(key),
            expires_at=timezone.now() + expires_in if expires_in else None,
            **fields,
        )

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self, now) -> None:
        """Note the use, at most once a minute: a write per request would cost every request."""
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`: DRF's header, checked against hashed keys."""

    keyword = b"token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: send `Authorization: Token <key>`."
            )
        digest = secrets.hash_token(parts[1].decode("latin-1"))
        token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        if token is None or not hmac.compare_digest(token.key_hash, digest):
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC."
            )
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The user of this token is deactivated.")
        token.touch(now)
        return (token.user, token)

    def authenticate_header(self, request):
        return "Token"
