"""Small builders shared by tests: objects built inline, readable on their own."""

from __future__ import annotations

import base64

from connectors.models import Connector
from pipelines.mapping.models import Pipeline


def make_connector(
    kind: str, name: str = "", fields: list[dict] | None = None, **config
) -> Connector:
    connector = Connector.objects.create(
        name=name or kind.replace("_", " ").title(), kind=kind, **config
    )
    connector.schema.replace_fields(fields or [])
    return connector


def make_pipeline(
    source: Connector, destination: Connector, mappings: list[dict] | None = None, **kw
) -> Pipeline:
    pipeline = Pipeline.objects.create(
        name=kw.pop("name", "P"), source=source, destination=destination, **kw
    )
    pipeline.replace_mappings(mappings or [])
    return pipeline


# A sender-verification setting per scheme, with the senders' own documented secrets where
# they publish one (GitHub's, Slack's).
SW_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-key-123").decode()
VERIFICATION_SETTINGS = {
    "standard_webhooks": {"scheme": "standard_webhooks", "secret": SW_SECRET},
    "stripe": {"scheme": "stripe", "secret": "whsec_stripe_signing_secret"},
    "github": {"scheme": "github", "secret": "It's a Secret to Everybody"},
    "shopify": {"scheme": "shopify", "secret": "shpss_client_secret"},
    "slack": {"scheme": "slack", "secret": "8f742231b10e8888abcd99yyyzzz85a5"},
    "hmac": {
        "scheme": "hmac",
        "secret": "example-shared-secret",
        "header": "X-Signature",
        "algorithm": "sha512",
        "encoding": "base64",
        "prefix": "sha512=",
    },
    "basic": {"scheme": "basic", "username": "acme", "password": "example password"},
}
