"""A connector's own page and its actions: post a sample record (plain, or signed through the real
endpoint), send a test request, test read, forget a mailbox consumer.

The page shows what happens to the connector's records (runs, mailbox backlog and latest
records, deliveries), which lives above `connectors`, so it is rendered from here; the
connector list and forms stay in `connectors/views.py`.
"""

from __future__ import annotations

import json
import time

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.test import RequestFactory
from django.urls import reverse
from django.views.decorators.http import require_POST

from connectors import examples
from connectors.auth import mask_auth
from connectors.forms import SampleRecordForm
from connectors.models import Connector
from connectors.sample_request import request_send_sample
from connectors.secret_variables import masked as masked_secret_variables
from connectors.verification import REGISTRY as SCHEMES
from connectors.verification import mask_verification, sign_example
from connectors.verification_form import SENDER_SENDS
from connectors.views import endpoint_url, staff_required, token_key
from mailbox.models import ConsumerCursor, MailboxRecord, backlog
from mailbox.views import DEFAULT_CONSUMER
from pipelines.delivery.models import Delivery
from pipelines.ingest.models import VerificationFailure
from pipelines.ingest.receive import accept_batch, previous_secret_used_at
from pipelines.ingest.views import IngestView
from pipelines.pull.sample import request_sample
from pipelines.runs.models import Run

NO_WORKER = "No worker answered in time; is `python manage.py qcluster` running?"


@staff_required
def connector_detail(request, pk: int, **extra):
    connector = get_object_or_404(Connector.objects.select_related("schema"), pk=pk)
    return render(request, "connectors/detail.html", detail_context(request, connector, **extra))


def detail_context(request, connector: Connector, **extra) -> dict:
    specs = connector.schema.specs()
    sample = examples.example_record(specs)
    token = request.session.pop(token_key(connector), None)
    url = endpoint_url(request, connector)
    shown_token = token or "$TOKEN"
    context = {
        "connector": connector,
        "kind": connector.kind_class,
        "fields": connector.schema.fields.all(),
        "token": token,
        "endpoint_url": url,
        "sample_json": examples.pretty(sample),
        "outgoing": connector.outgoing_pipelines.select_related("destination"),
        "incoming": connector.incoming_pipelines.select_related("source"),
        "headers": connector.headers.all(),
        "auth": mask_auth(connector.auth) if connector.auth else {"type": "none"},
        "secret_variables": masked_secret_variables(connector.secret_variables),
        **extra,
    }
    if url:
        route = (
            "ingest-schema"
            if connector.kind == Connector.Kind.INGEST_ENDPOINT
            else "mailbox-schema"
        )
        context["schema_url"] = reverse(route, kwargs={"slug": connector.slug})
        context["openapi_url"] = reverse("connector-openapi", kwargs={"pk": connector.pk})
    if connector.kind == Connector.Kind.INGEST_ENDPOINT:
        context.update(sender_context(connector, url, sample))
        if not context["curl_signed"]:
            # A signed endpoint refuses a bearer token (401): it gets the signing script alone.
            context["curl_json"] = examples.curl_post_json(url, sample, shown_token)
            context["curl_csv"] = examples.curl_post_csv(url, specs, shown_token)
    if connector.is_source:
        context["runs"] = Run.objects.filter(source=connector)[:10]
    if connector.kind == Connector.Kind.MAILBOX:
        context["curl_poll"] = examples.curl_poll(url, shown_token)
        context["curl_ack"] = examples.curl_ack(url, shown_token)
        consumers = ConsumerCursor.consumers_of(connector)
        context["consumers"] = consumers
        # The default consumer's backlog is in the list once it has read; counted apart only
        # before that.
        default = next((c for c in consumers if c.consumer == DEFAULT_CONSUMER), None)
        context["backlog"] = default.backlog if default else backlog(connector)
        # Acknowledged by every consumer: done with, kept only until the purge.
        taken_up_to = min((c.position or 0 for c in consumers), default=0)
        context["latest"] = [
            {
                "seq": r.seq,
                "created_at": r.created_at,
                "data": examples.pretty(json.loads(r.data)),
                "acknowledged": r.seq <= taken_up_to,
            }
            for r in MailboxRecord.objects.filter(mailbox=connector).order_by("-seq")[:10]
        ]
    if connector.kind == Connector.Kind.HTTP_DESTINATION:
        context["deliveries"] = Delivery.objects.filter(destination=connector).select_related(
            "pipeline"
        )[:10]
    return context


@staff_required
@require_POST
def connector_post_sample(request, pk: int):
    """Post sample records to an ingest endpoint as the customer's system would, through the same code."""
    connector = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.INGEST_ENDPOINT)
    form = SampleRecordForm(request.POST)
    result = None
    if form.is_valid():
        response = accept_batch(connector, form.cleaned_data["record"])
        result = {"status": response.status_code, **response.data}
    return connector_detail(request, pk, sample_form=form, sample_result=result)


def sender_context(connector: Connector, url: str, sample: dict) -> dict:
    """How the sender proves itself, a signed example, and the last requests that did not."""
    verification = mask_verification(connector.verification)
    scheme = verification.get("scheme", "token")
    signed = scheme in SCHEMES and scheme != "token"
    return {
        "verification": verification,
        "scheme_label": SCHEMES[scheme].label if scheme in SCHEMES else scheme,
        "sender_sends": SENDER_SENDS.get(scheme, ""),
        "curl_signed": examples.curl_signed(url, connector.verification, sample) if signed else "",
        "query_token_url": f"{url}?token=$TOKEN" if verification.get("allow_query_token") else "",
        "verification_failures": VerificationFailure.latest(connector),
        # Only while there is a previous secret to keep: once removed, the notice's "keep it"
        # is stale (a sender still on it now shows among the refused requests).
        "previous_secret_used_at": (
            previous_secret_used_at(connector.pk)
            if verification.get("previous_secret") or verification.get("previous_password")
            else None
        ),
    }


@staff_required
@require_POST
def connector_post_signed_sample(request, pk: int):
    """Sign a sample record with the connector's own verification setting and post it through
    the real endpoint (size check, verification, replay check, parsing, storing), as its
    sender would: a wrong setting shows here as the 401 the sender would get."""
    connector = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.INGEST_ENDPOINT)
    form = SampleRecordForm(request.POST)
    result = None
    if form.is_valid():
        records = form.cleaned_data["record"]
        body = json.dumps(records[0] if len(records) == 1 else records).encode()
        headers = sign_example(connector.verification, body, time.time())
        # A request built as the server would receive it: the endpoint reads the raw stream.
        sent = RequestFactory().post(
            f"/api/v1/ingest/{connector.slug}/",
            body,
            content_type="application/json",
            headers=headers,
            SERVER_NAME=request.get_host().partition(":")[0],
        )
        response = IngestView.as_view()(sent, slug=connector.slug)
        response.render()
        result = {"status": response.status_code, "body": response.content.decode()}
        if response.status_code == 202:
            result.update(json.loads(response.content))
    return connector_detail(request, pk, sample_form=form, signed_result=result)


@staff_required
@require_POST
def connector_test_request(request, pk: int):
    connector = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.HTTP_DESTINATION)
    form = SampleRecordForm(request.POST)
    result = None
    if form.is_valid():
        result = request_send_sample(connector, form.cleaned_data["record"][0]) or {
            "ok": False,
            "error": NO_WORKER,
        }
    return connector_detail(request, pk, sample_form=form, test_result=result)


@staff_required
@require_POST
def connector_test_read(request, pk: int):
    connector = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.HTTP_SOURCE)
    result = request_sample(connector, pages=3) or {"ok": False, "error": NO_WORKER}
    if result.get("schema"):
        result["schema_json"] = json.dumps({"fields": result["schema"]})
        result["records_json"] = examples.pretty(result.get("records", [])[:5])
    return connector_detail(request, pk, read_result=result)


@staff_required
@require_POST
def connector_forget_consumer(request, pk: int):
    """Forget a mailbox consumer that will never read again, so purges stop waiting for it."""
    mailbox = get_object_or_404(Connector, pk=pk, kind=Connector.Kind.MAILBOX)
    # The name travels in the form, not the URL: a consumer may be named "." or "..", which
    # browsers would resolve away in a path.
    consumer = request.POST.get("consumer", "")
    if ConsumerCursor.forget(mailbox, consumer):
        messages.success(request, f"Consumer “{consumer}” forgotten: purges no longer wait for it.")
    else:
        messages.error(request, f"No consumer “{consumer}” reads this mailbox.")
    return redirect("ui:connector", pk=pk)
