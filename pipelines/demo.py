"""The first-run demo workspace: records flowing within a minute of `make run`.

An ingest endpoint of orders feeds two pipelines: one cleans the orders into a mailbox, one
sends them to an HTTP destination pointed at the app's own echo endpoint (served under
DEBUG only). Everything it creates has a `demo-` slug and is removed in one click.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from connectors import examples
from connectors.http import mask_headers
from connectors.models import Connector, Schema
from pipelines.ingest.receive import accept_batch
from pipelines.mapping.models import Pipeline

SLUGS = ("demo-orders", "demo-clean-orders", "demo-echo")
MARK = "Part of the demo workspace: remove it from the dashboard in one click."
SESSION_KEY = "demo-tokens"
ECHO_CACHE_KEY = "demo-echo-requests"
ECHOES_KEPT = 10

ORDER_FIELDS = [
    {"name": "order_id", "type": "integer", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "first_name", "type": "string"},
    {"name": "last_name", "type": "string"},
    {"name": "amount", "type": "number", "required": True},
    {"name": "country", "type": "string"},
]
SAMPLE_ORDERS = [
    {
        "order_id": 1001,
        "email": " Ada@Example.com ",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "amount": 42.5,
        "country": "gb",
    },
    {
        "order_id": 1002,
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "amount": "19.99",
        "country": "us",
    },
    # Rejected on purpose: the run page shows how to fix it and resend it.
    {
        "order_id": 1003,
        "email": "not-an-email",
        "first_name": "Alan",
        "last_name": "Turing",
        "amount": 7,
    },
]


def exists() -> bool:
    return Connector.objects.filter(slug__in=SLUGS).exists()


@transaction.atomic
def create(base_url: str) -> dict[str, str]:
    """Create the workspace; the endpoint tokens by slug (shown once, like every token)."""
    base_url = base_url.rstrip("/")
    orders = connector("Demo orders", "demo-orders", "ingest_endpoint", ORDER_FIELDS)
    clean = connector(
        "Demo clean orders",
        "demo-clean-orders",
        "mailbox",
        [
            {"name": "id", "type": "integer", "required": True},
            {"name": "email", "type": "email", "required": True},
            {"name": "customer.name", "type": "string"},
            {"name": "amount", "type": "number"},
            {"name": "country", "type": "string"},
        ],
    )
    echo = connector(
        "Demo echo receiver",
        "demo-echo",
        "http_destination",
        [
            {"name": "order_id", "type": "integer", "required": True},
            {"name": "email", "type": "email", "required": True},
            {"name": "total", "type": "number"},
        ],
        url=f"{base_url}{reverse('ui:demo_echo')}orders/{{{{ order_id }}}}",
        method="POST",
        max_attempts=3,
        initial_backoff_seconds=2,
    )
    echo.replace_headers([{"name": "Authorization", "value": "Bearer demo-secret", "secret": True}])
    to_mailbox = Pipeline.objects.create(
        name="Demo: orders to the mailbox", source=orders, destination=clean
    )
    to_mailbox.replace_mappings(
        [
            {"target": "id", "source": "order_id"},
            {"target": "email", "source": "email", "transforms": ["trim", "lower"]},
            {"target": "customer.name", "template": "{{ first_name }} {{ last_name }}"},
            {"target": "country", "source": "country", "transforms": ["upper"]},
        ]
    )
    to_echo = Pipeline.objects.create(
        name="Demo: orders to the echo API", source=orders, destination=echo
    )
    to_echo.replace_mappings(
        [
            {"target": "email", "source": "email", "transforms": ["trim", "lower"]},
            {"target": "total", "source": "amount"},
        ]
    )
    return {"demo-orders": orders.rotate_token(), "demo-clean-orders": clean.rotate_token()}


def connector(name: str, slug: str, kind: str, fields: list[dict], **config) -> Connector:
    created = Connector.objects.create(name=name, slug=slug, kind=kind, description=MARK, **config)
    created.schema.replace_fields(fields)
    return created


@transaction.atomic
def remove() -> int:
    """Delete the demo connectors with their pipelines, runs, records and schemas."""
    connectors = list(Connector.objects.filter(slug__in=SLUGS))
    schema_ids = [c.schema_id for c in connectors]
    for each in connectors:
        each.delete()
    Schema.objects.filter(pk__in=schema_ids).delete()
    cache.delete(ECHO_CACHE_KEY)
    return len(connectors)


def send_sample_orders() -> dict:
    """Three orders through the ingest endpoint's own code (one of them invalid)."""
    orders = Connector.objects.get(slug="demo-orders")
    return accept_batch(orders, [dict(o) for o in SAMPLE_ORDERS]).data


def curl_commands(base_url: str, tokens: dict[str, str] | None = None) -> list[tuple[str, str]]:
    tokens = tokens or {}
    base_url = base_url.rstrip("/")
    ingest = base_url + reverse("ingest", kwargs={"slug": "demo-orders"})
    mailbox = base_url + reverse("mailbox", kwargs={"slug": "demo-clean-orders"})
    return [
        (
            "Send an order",
            examples.curl_post_json(
                ingest, SAMPLE_ORDERS[0], tokens.get("demo-orders", "$ORDERS_TOKEN")
            ),
        ),
        (
            "Read the clean orders",
            examples.curl_poll(mailbox, tokens.get("demo-clean-orders", "$MAILBOX_TOKEN")),
        ),
    ]


def first_run_lines(base_url: str) -> list[str]:
    """For `make run` on an empty database: create the workspace and say how to try it."""
    if Connector.objects.exists():
        return []
    tokens = create(base_url)
    lines = [
        "A demo workspace was created (remove it from the dashboard in one click). Try it:",
        *(
            f"  # {title}\n  {command.replace(chr(10), chr(10) + '  ')}"
            for title, command in curl_commands(base_url, tokens)
        ),
    ]
    if not settings.ALLOW_PRIVATE_DESTINATIONS:
        lines.append(
            "  (Set ALLOW_PRIVATE_DESTINATIONS=True to let the demo HTTP destination reach the local echo endpoint.)"
        )
    return lines


def remember_echo(method: str, path: str, headers: dict, body) -> None:
    received = cache.get(ECHO_CACHE_KEY, [])
    shown = mask_headers(headers, set())
    received.insert(
        0, {"method": method, "path": path, "headers": shown, "body": examples.pretty(body)}
    )
    cache.set(ECHO_CACHE_KEY, received[:ECHOES_KEPT], None)


def panel_echoes() -> list[dict]:
    """The last requests the echo endpoint received, newest first."""
    return cache.get(ECHO_CACHE_KEY, [])


def panel(request) -> dict:
    """What the dashboard shows about the demo: how to try it and what the echo received."""
    tokens = request.session.pop(SESSION_KEY, None)
    return {
        "commands": curl_commands(request.build_absolute_uri("/"), tokens),
        "tokens_shown": bool(tokens),
        "echoes": panel_echoes()[:3],
        "connectors": Connector.objects.filter(slug__in=SLUGS),
        "private_allowed": settings.ALLOW_PRIVATE_DESTINATIONS,
    }
