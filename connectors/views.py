"""The connector pages of the web UI: the list, the kind picker, the forms, token and signing
secret rotation.

Views are glue: a form or a model method does the work. Like the rest of this app, they
import nothing from the apps above it: a connector's own page, which shows its runs, backlog
and deliveries, is rendered by the flow engine's `connector_pages.py` (docs/architecture.md).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from connectors.formats import BodyError, parse_records, sniff_media_type
from connectors.forms import ConnectorForm, parse_schema
from connectors.kinds import REGISTRY
from connectors.models import Connector
from connectors.roles import role_required
from connectors.schema import infer_schema
from connectors.serializers import ConnectorSerializer
from connectors.templatetags.connector_secrets import signing_secret_key

# Who calls whom x source or destination: the 2x2 the picker shows.
PICKER = [
    ("source", ["ingest_endpoint", "http_source"]),
    ("destination", ["mailbox", "http_destination"]),
]
INFER_MAX_BYTES = 1_000_000


def is_fetch(request) -> bool:
    """A page's own script asking for a fragment or JSON (not a person loading the page)."""
    return request.headers.get("X-Requested-With") == "fetch"


# The pages' decorator (connectors.roles): GET needs a viewer, POST an editor.
staff_required = role_required


def token_key(connector: Connector) -> str:
    return f"new-token-{connector.pk}"


def endpoint_url(request, connector: Connector) -> str | None:
    routes = {"ingest_endpoint": "ingest", "mailbox": "mailbox"}
    if connector.kind not in routes:
        return None
    return request.build_absolute_uri(
        reverse(routes[connector.kind], kwargs={"slug": connector.slug})
    )


@staff_required
def connector_list(request):
    connectors = Connector.objects.annotate(field_count=Count("schema__fields"))
    kind = request.GET.get("kind", "")
    if kind in REGISTRY:
        connectors = connectors.filter(kind=kind)
    return render(
        request,
        "connectors/list.html",
        {"connectors": connectors, "kinds": REGISTRY.values(), "kind": kind},
    )


def picker_rows() -> list:
    """The kind picker's 2x2 (its page, which lists presets too, is pipelines/config/views.py)."""
    return [(direction, [REGISTRY[name] for name in names]) for direction, names in PICKER]


@staff_required
def connector_create(request, kind: str):
    if kind not in REGISTRY:
        return redirect("ui:connector_new")
    form = ConnectorForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        connector = form.save()
        if form.issued_token:
            request.session[token_key(connector)] = form.issued_token
        messages.success(request, f"{connector.kind_class.label} “{connector.name}” created.")
        return redirect("ui:connector", pk=connector.pk)
    return render(request, "connectors/form.html", {"form": form, "kind": REGISTRY[kind]})


@staff_required
def connector_edit(request, pk: int):
    connector = get_object_or_404(Connector, pk=pk)
    form = ConnectorForm(request.POST or None, kind=connector.kind, instance=connector)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved.")
        return redirect("ui:connector", pk=connector.pk)
    return render(
        request,
        "connectors/form.html",
        {"form": form, "kind": connector.kind_class, "connector": connector},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def connector_delete(request, pk: int):
    """GET asks first, naming the pipelines that go with the connector; POST deletes."""
    connector = get_object_or_404(Connector, pk=pk)
    if request.method == "GET":
        # The reverse relations of Pipeline's foreign keys: read without importing pipelines.
        pipelines = [
            *connector.outgoing_pipelines.select_related("destination"),
            *connector.incoming_pipelines.select_related("source"),
        ]
        return render(
            request, "connectors/delete.html", {"connector": connector, "pipelines": pipelines}
        )
    with transaction.atomic():
        schema = connector.schema
        connector.delete()
        schema.delete()
    messages.success(request, f"Deleted “{connector.name}”.")
    return redirect("ui:connectors")


@staff_required
@require_POST
def connector_rotate_token(request, pk: int):
    connector = get_object_or_404(Connector, pk=pk)
    if not connector.kind_class.has_token:
        raise PermissionDenied
    request.session[token_key(connector)] = connector.rotate_token()
    messages.success(request, "A new token was issued; the old one no longer works.")
    return redirect("ui:connector", pk=pk)


@staff_required
@require_POST
def connector_rotate_signing_secret(request, pk: int):
    connector = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.HTTP_DESTINATION)
    # Kept in the session for the one page view that shows it (templatetags.connector_secrets).
    request.session[signing_secret_key(connector)] = connector.rotate_signing_secret()
    if connector.previous_signing_secret_expires_at:
        until = f"{connector.previous_signing_secret_expires_at:%Y-%m-%d %H:%M} UTC"
        messages.success(
            request, f"A new signing secret was issued; until {until} the old one signs too."
        )
    else:
        messages.success(request, "A signing secret was issued.")
    return redirect("ui:connector", pk=pk)


@staff_required
@require_POST
def connector_adopt_schema(request, pk: int):
    """Use the schema a test read inferred (the user adjusts it on the edit page afterwards)."""
    connector = get_object_or_404(Connector, pk=pk)
    try:
        schema = parse_schema(request.POST.get("schema_json", ""))
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("ui:connector", pk=pk)
    serializer = ConnectorSerializer(connector, data={"schema": schema}, partial=True)
    if serializer.is_valid():
        serializer.save()
        messages.success(request, f"The schema now has {len(schema['fields'])} field(s).")
    else:
        messages.error(request, f"The inferred schema was refused: {serializer.errors}")
    return redirect("ui:connector", pk=pk)


@staff_required
@require_POST
def infer_schema_view(request):
    """Fields proposed from a pasted JSON record, JSON array, NDJSON or CSV text."""
    body = request.POST.get("sample", "").encode()
    if not body.strip():
        return JsonResponse(
            {"error": "Paste a JSON record, a JSON array or CSV text first."}, status=400
        )
    if len(body) > INFER_MAX_BYTES:
        return JsonResponse({"error": "Paste at most 1 MB of sample data."}, status=400)
    try:
        records = parse_records(body, sniff_media_type(body))
    except BodyError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    fields = [spec.to_dict() for spec in infer_schema(records)]
    return JsonResponse({"fields": fields, "records": len(records)})
