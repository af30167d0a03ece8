"""Authentication for the per-connector endpoints (ingest, mailbox).

The connector is the credential: `request.auth` is the Connector whose token matched. The
ingest endpoint verifies its sender itself (`SenderAuthentication`), over the raw body.
"""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from connectors.models import Connector
from connectors.prepared import PreparedQuery

# One message for a missing token, a wrong token and another connector's token:
# the answer must not tell an attacker which of them it was.
INVALID = "Missing or invalid token. Send `Authorization: Bearer <token>` of this endpoint."


# What the ingest and mailbox endpoints read of their connector, on every request: loading
# only these halves the cost of the lookup (anything else still loads on first use).
ENDPOINT_COLUMNS = Connector.objects.select_related("schema").only(
    "id",
    "name",
    "slug",
    "kind",
    "enabled",
    "token_hash",
    "throttle_rate",
    "all_or_nothing",
    "drop_unknown_fields",
    "retention_days",
    "verification",
    "schema__id",
    "schema__updated_at",
)

# Every request looks its endpoint up: compiled to SQL once (connectors/prepared.py).
# Each call gets copies of an instance built once while the row is unchanged: attributes may
# be set on them, but values they share (the verification dict) must not be changed in place.
FIND_ENDPOINT = PreparedQuery(
    lambda slug, kind: ENDPOINT_COLUMNS.filter(slug=slug, kind=kind), reuse=True
)


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        connector = self.find(request)
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            raise exceptions.AuthenticationFailed(INVALID)
        if not connector.check_token(parts[1].decode("latin-1")):
            raise exceptions.AuthenticationFailed(INVALID)
        return (None, connector)

    def find(self, request) -> Connector:
        view = request.parser_context["view"]
        slug = request.parser_context["kwargs"].get("slug", "")
        found = FIND_ENDPOINT(slug, view.kind)
        if not found:
            raise Http404(f"No {view.kind.label.lower()} '{slug}'.")
        return found[0]

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class SenderAuthentication(BearerTokenAuthentication):
    """Finds the ingest endpoint only: its view verifies the sender (`Connector.verify_sender`),
    because a signature covers the raw body, which is read after its size is checked (413).
    The view raises AuthenticationFailed, so the answer is a 401 with this WWW-Authenticate."""

    def authenticate(self, request):
        return (None, self.find(request))

    def authenticate_header(self, request):
        return sender_authenticate_header(request.auth)


def sender_authenticate_header(connector: Connector | None) -> str:
    """The WWW-Authenticate of an ingest endpoint's 401: how its sender proves itself."""
    scheme = connector.verification.get("scheme", "token") if connector else "token"
    if scheme == "token":
        return 'Bearer realm="api"'
    if scheme == "basic":
        return 'Basic realm="api", charset="UTF-8"'
    return f'Signature realm="api", scheme="{scheme}"'


class EndpointOrStaffAuthentication(BearerTokenAuthentication):
    """For what an endpoint publishes about itself (its record schema): a Bearer token must be
    this connector's; any other credentials are left to the management API's authentication."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == self.keyword:
            return super().authenticate(request)
        view = request.parser_context["view"]
        slug = request.parser_context["kwargs"].get("slug", "")
        # An unknown slug is 404 whoever asks, as on the endpoints themselves.
        if not Connector.objects.filter(slug=slug, kind=view.kind).exists():
            raise Http404(f"No {view.kind.label.lower()} '{slug}'.")
        return None


class IsEndpointOrStaff(BasePermission):
    """The connector's own token, or anyone with a role (API token or session): reading a
    schema is a read, so viewers may."""

    def has_permission(self, request, view):
        from connectors.roles import VIEWER, has_role, request_token

        if isinstance(request.auth, Connector):
            return True
        return has_role(request.user, VIEWER, request_token(request))
