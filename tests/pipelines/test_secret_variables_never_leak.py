"""A webhook URL kept in a secret variable never shows, however the call to it fails.

The URL's path is the credential (Slack, Discord). It is planted as a secret variable of
destinations and sources whose calls fail: the receiver answers 500 echoing its URL, the
connection is refused, the host does not resolve. Every attempt row, run, page, API answer
and log line is then searched for it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets

import pytest
from werkzeug import Request, Response

from connectors.models import Connector
from pipelines.delivery.courier import deliver
from pipelines.delivery.models import Delivery, DeliveryAttempt
from pipelines.pull.runs import pull
from pipelines.runs.models import Run
from tests.pipelines.delivery.destinations import make_delivery
from tests.pipelines.test_secrets_never_leak import Planted, everything_shown, free_port

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {"fields": [{"name": "id", "type": "integer"}]}


def test_a_secret_webhook_url_never_shows(settings, httpserver, api, alice, caplog):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_MAX_ATTEMPTS = 1
    caplog.set_level(logging.DEBUG)
    planted = Planted()

    def echo_500(request: Request) -> Response:
        body = {"error": "boom", "url": request.url, "path": request.path}
        return Response(json.dumps(body), status=500, headers={"X-Echo": request.url})

    httpserver.expect_request(re.compile("/services/.*")).respond_with_handler(echo_500)
    base = httpserver.url_for("/").rstrip("/")
    urls = {
        "echo500": lambda token: f"{base}/services/T01/{token}",
        "refused": lambda token: f"http://127.0.0.1:{free_port()}/services/T01/{token}",
        "unresolvable": lambda token: f"http://no-such-host.invalid/services/T01/{token}",
    }
    created = []
    for target, url_of in urls.items():
        for kind, method in (("http_destination", "POST"), ("http_source", "GET")):
            webhook_url = url_of(planted.new("hook" + secrets.token_hex(2)))
            answer = api.post(
                "/api/v1/connectors/",
                {
                    "kind": kind,
                    "name": f"{kind} {target}",
                    "schema": FIELDS,
                    "url": "{{ webhook_url }}",
                    "method": method,
                    "secret_variables": {"webhook_url": webhook_url},
                    "timeout_seconds": 2,
                },
                format="json",
            )
            assert answer.status_code == 201, answer.json()
            created.append(Connector.objects.get(pk=answer.json()["id"]))
    destinations = [c for c in created if c.kind == "http_destination"]
    sources = [c for c in created if c.kind == "http_source"]

    statuses = [deliver(make_delivery(d, [{"id": 1}]).pk) for d in destinations]
    runs = [pull(source) for source in sources]

    # The failures did happen, and the receiver did echo the secret path back.
    assert set(statuses) <= {Delivery.Status.PENDING, Delivery.Status.FAILED}
    assert {run.status for run in runs} == {Run.Status.FAILED}
    assert len(httpserver.log) == 2
    assert DeliveryAttempt.objects.count() == 3
    assert any("********" in a.response_excerpt for a in DeliveryAttempt.objects.all())
    world = {"connectors": created, "sources": sources}
    shown = everything_shown(api, alice, world)
    for attempt in DeliveryAttempt.objects.all():
        shown[f"attempt {attempt.pk}"] = json.dumps(
            [attempt.request_url, attempt.request_headers, attempt.error, attempt.response_excerpt]
        )
    for run in Run.objects.all():
        shown[f"run {run.pk}"] = json.dumps(run.detail) + run.error
    shown["log"] = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith("werkzeug")
    )

    leaks = sorted(
        {
            where
            for value in planted.values
            for form in planted.forms(value)
            for where, text in shown.items()
            if form in text
        }
    )
    assert leaks == []
