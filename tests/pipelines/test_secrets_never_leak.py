"""No secret a connector holds ever shows: not in an API answer, a page, a log line or the database.

A unique random secret is planted in every place a secret can live, on connectors of all four
kinds; the outbound calls then fail in every way we know (connection refused, a 500 or 401
echoing the request back, a token endpoint with an odd `expires_in` or an error body echoing
the client's credentials, a timeout), deliveries and pulls run, and every answer, page, log
line and the SQLite file itself are searched for each secret.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from django.db import connection
from django.test import Client
from werkzeug import Request, Response

from connectors.models import Connector
from connectors.secrets import MASK
from connectors.signing import generate_secret
from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.pull.runs import pull
from pipelines.runs.models import Run
from tests.pipelines.delivery.destinations import make_delivery

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {"fields": [{"name": "id", "type": "integer"}]}


class Planted:
    """Every secret handed to the product (or made by the token server), to search for later."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def new(self, prefix: str = "s", special: bool = False) -> str:
        # Characters that URL-encoding changes, for the values that travel in a URL.
        value = f"{prefix}{secrets.token_hex(8)}{'/+=' if special else ''}{secrets.token_hex(4)}"
        self.values.append(value)
        return value

    def new_signing(self) -> str:
        value = generate_secret()
        self.values.append(value)
        return value

    def forms(self, value: str) -> set[str]:
        return {value, quote(value, safe=""), quote_plus(value)}


def echo(request: Request) -> dict:
    return {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "body": request.get_data(as_text=True),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world(settings, httpserver, api):
    """The connectors, their failing peers, and what was planted."""
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_MAX_ATTEMPTS = 2
    settings.PULL_RETRY_BASE_SECONDS = 0
    planted = Planted()

    def odd_token(request: Request) -> Response:
        # A fresh token each time: the one fetched again after a 401 must be hidden too.
        token = planted.new("tok")
        body = {"access_token": token, "token_type": "Bearer", "expires_in": "3600s"}
        return Response(json.dumps(body), content_type="application/json")

    def refusing_token(request: Request) -> Response:
        body = {"error": "invalid_client", "access_token": planted.new("errtok"), **echo(request)}
        return Response(json.dumps(body), status=401, content_type="application/json")

    def echo_with(status: int):
        def handler(request: Request) -> Response:
            return Response(
                json.dumps(echo(request)), status=status, headers={"X-Echo": request.url}
            )

        return handler

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/token/odd").respond_with_handler(odd_token)
    httpserver.expect_request("/token/refusing").respond_with_handler(refusing_token)
    httpserver.expect_request("/echo/500").respond_with_handler(echo_with(500))
    httpserver.expect_request("/echo/401").respond_with_handler(echo_with(401))
    httpserver.expect_request("/slow").respond_with_handler(slow)
    base = httpserver.url_for("/").rstrip("/")
    refused = f"http://127.0.0.1:{free_port()}/refused"
    targets = {
        "refused": refused,
        "echo500": f"{base}/echo/500",
        "echo401": f"{base}/echo/401",
        "slow": f"{base}/slow",
    }

    def auths():
        yield "bearer", {"type": "bearer", "token": planted.new("bearer")}
        yield "basic", {"type": "basic", "username": "alice", "password": planted.new("pw")}
        yield "key_header", {"type": "api_key", "name": "X-Key", "value": planted.new("kh")}
        yield (
            "key_query",
            {"type": "api_key", "in": "query", "name": "key", "value": planted.new("kq", True)},
        )
        yield (
            "oauth_odd",
            {
                "type": "oauth2_client_credentials",
                "token_url": f"{base}/token/odd",
                "client_id": "client",
                "client_secret": planted.new("cs", True),
            },
        )
        yield (
            "oauth_refusing",
            {
                "type": "oauth2_client_credentials",
                "token_url": f"{base}/token/refusing",
                "client_id": "client",
                "client_secret": planted.new("csb", True),
                "client_auth": "body",
            },
        )
        yield "userinfo", {}

    created = []

    def create(kind: str, **document) -> Connector:
        answer = api.post(
            "/api/v1/connectors/",
            {"kind": kind, "schema": FIELDS, **document},
            format="json",
        )
        assert answer.status_code == 201, answer.json()
        connector = Connector.objects.get(pk=answer.json()["id"])
        created.append(connector)
        return connector

    def url_for(auth_name: str, target: str) -> str:
        url = targets[target]
        if auth_name != "userinfo":
            return url
        password = quote(planted.new("ui", True), safe="")
        return url.replace("http://", f"http://alice:{password}@", 1)

    def headers():
        return [
            {"name": "X-Secret", "value": planted.new("hdr"), "secret": True},
            {"name": "X-Other-Secret", "value": planted.new("hdr2"), "secret": True},
            {"name": "X-Plain", "value": "plain"},
        ]

    destinations, sources = [], []
    for auth_name, auth in auths():
        for target in targets:
            if auth_name == "oauth_refusing" and target != "echo500":
                continue  # the token request fails first, whatever the target
            if target == "echo401" and not auth_name.startswith("oauth"):
                continue  # a 401 makes the OAuth2 client fetch a new token and try again
            if target == "slow" and auth_name not in ("key_query", "oauth_odd", "userinfo"):
                continue  # a second each: the ones with a secret in the URL or fetched
            name = f"{auth_name} {target}"
            destinations.append(
                create(
                    "http_destination",
                    name=f"To {name}",
                    url=url_for(auth_name, target),
                    method="POST",
                    auth=auth,
                    headers=headers(),
                    timeout_seconds=1,
                    signing_secret=planted.new_signing(),
                    previous_signing_secret=planted.new_signing(),
                )
            )
            sources.append(
                create(
                    "http_source",
                    name=f"From {name}",
                    url=url_for(auth_name, target),
                    method="GET",
                    auth=auth,
                    headers=headers(),
                    timeout_seconds=1,
                )
            )
    endpoint = create(
        "ingest_endpoint",
        name="Webhooks",
        verification={
            "scheme": "github",
            "secret": planted.new("gh"),
            "previous_secret": planted.new("ghprev"),
        },
    )
    basic_endpoint = create(
        "ingest_endpoint",
        name="Basic webhooks",
        verification={"scheme": "basic", "username": "sender", "password": planted.new("vpw")},
    )
    mailbox_answer = api.post(
        "/api/v1/connectors/", {"kind": "mailbox", "name": "Box", "schema": FIELDS}, format="json"
    )
    assert mailbox_answer.status_code == 201
    planted.values.append(mailbox_answer.json()["token"])
    created.append(Connector.objects.get(pk=mailbox_answer.json()["id"]))
    return {
        "planted": planted,
        "destinations": destinations,
        "sources": sources,
        "endpoints": [endpoint, basic_endpoint],
        "connectors": created,
    }


def everything_shown(api, alice, world) -> dict[str, str]:
    """Every answer, page and file where a secret could surface, by where it came from."""
    shown: dict[str, str] = {}

    def get_api(path: str) -> None:
        answer = api.get(path)
        assert answer.status_code == 200, path
        shown[f"API {path}"] = answer.content.decode()

    browser = Client()
    alice.is_superuser = True  # the admin pages too
    alice.save(update_fields=["is_superuser"])
    browser.force_login(alice)

    def get_page(path: str) -> None:
        answer = browser.get(path)
        assert answer.status_code == 200, path
        shown[f"page {path}"] = answer.content.decode()

    get_api("/api/v1/connectors/")
    for connector in world["connectors"]:
        get_api(f"/api/v1/connectors/{connector.pk}/")
        get_page(f"/connectors/{connector.pk}/")
        if "userinfo" in connector.name or connector.kind == "ingest_endpoint":
            # The pages that show the URL and the settings as they were entered.
            get_page(f"/connectors/{connector.pk}/edit/")
            get_page(f"/admin/connectors/connector/{connector.pk}/change/")
    get_api("/api/v1/deliveries/")
    get_api("/api/v1/runs/")
    get_page("/runs/")
    get_page("/deliveries/")
    get_page("/admin/pipelines/run/")
    get_page("/admin/pipelines/delivery/")
    get_page("/admin/connectors/connector/")
    for delivery in Delivery.objects.all():
        get_api(f"/api/v1/deliveries/{delivery.pk}/")
        get_page(f"/deliveries/{delivery.pk}/")
        get_page(f"/admin/pipelines/delivery/{delivery.pk}/change/")
    for run in Run.objects.filter(source__in=world["sources"]):
        get_api(f"/api/v1/runs/{run.pk}/")
        get_api(f"/api/v1/runs/{run.pk}/errors/")
        get_page(f"/runs/{run.pk}/")
        get_page(f"/admin/pipelines/run/{run.pk}/change/")
    database = Path(connection.settings_dict["NAME"])
    for path in (database, Path(f"{database}-wal")):
        if path.exists():
            shown[f"file {path.name}"] = path.read_bytes().decode("latin-1")
    return shown


def test_it_never_shows_a_planted_secret(world, api, alice, caplog):
    caplog.set_level(logging.DEBUG)
    statuses = {}
    for destination in world["destinations"]:
        delivery = make_delivery(destination, [{"id": 1}])
        statuses[destination.name] = deliver(delivery.pk)
    runs = {source.name: pull(source) for source in world["sources"]}
    endpoint = world["endpoints"][0]
    refused = Client().post(
        f"/api/v1/ingest/{endpoint.slug}/",
        b'[{"id": 1}]',
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=00",
    )

    # The attacks did happen: every delivery and every pull failed, the sender was refused.
    assert set(statuses.values()) <= {Delivery.Status.PENDING, Delivery.Status.FAILED}
    assert {run.status for run in runs.values()} == {Run.Status.FAILED}
    assert refused.status_code == 401
    assert len(world["planted"].values) > 60
    # And the echoes did carry secrets back, now masked where they are shown.
    assert any(MASK in a.response_excerpt for a in DeliveryAttempt.objects.all())
    assert any(MASK in json.dumps(run.detail) for run in runs.values())
    shown = everything_shown(api, alice, world)
    # Every line our process logged, at DEBUG; the peers' own request log (werkzeug) is theirs.
    shown["log"] = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith("werkzeug")
    )

    leaks = [
        f"{value} in {where}"
        for value in world["planted"].values
        for form in world["planted"].forms(value)
        for where, text in shown.items()
        if form in text
    ]
    assert sorted({leak.split(" in ", 1)[1] for leak in leaks}) == []
