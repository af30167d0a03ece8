"""The ingest lane: `POST /api/v1/ingest/{slug}/` without the middleware stack or DRF's dispatch.

Webhook senders post one small event per request, thousands a minute. For them the fixed cost
of a request is the cost: sessions, CSRF, authentication and messages middleware, URL
resolution through every router, then DRF's request wrapping, content negotiation and
authentication classes took about a third of a one-record request, and none of it applies to
a sender, whose credential is checked by `receive` itself.

So this middleware, placed right after the security headers, takes an ingest POST that it
can answer exactly as `IngestView` would: the endpoint exists and the sender accepts JSON.
Everything else passes on untouched (an unknown slug's 404, an `Accept` that DRF negotiates,
any other method or path). The answer is the same bytes and headers either way: the flow is
`pipelines.ingest.receive` for both, errors go through DRF's exception handler, and a test
sends each kind of request both ways and compares.
"""

from __future__ import annotations

import re

from django.utils.cache import patch_vary_headers
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from connectors.endpoint_auth import FIND_ENDPOINT, sender_authenticate_header
from connectors.models import Connector
from pipelines.ingest.receive import receive
from pipelines.ingest.views import IngestView

INGEST_PATH = re.compile(r"/api/v1/ingest/([-a-zA-Z0-9_]+)/")
# What DRF would negotiate to JSON without a second thought; anything else goes to the view.
JSON_ACCEPTS = frozenset(("", "*/*", "application/json", "application/*"))
RENDERER = JSONRenderer()


class IngestLaneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # The headers DRF's APIView adds to every answer of the view.
        view = IngestView()
        view.setup(None)  # which gives a view with a GET its HEAD
        self.allow = ", ".join(view.allowed_methods)

    def __call__(self, request):
        if request.method != "POST" or request.META.get("HTTP_ACCEPT", "").strip() not in (
            JSON_ACCEPTS
        ):
            return self.get_response(request)
        match = INGEST_PATH.fullmatch(request.path_info)
        if match is None:
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS, which CommonMiddleware checks on the other path
        found = FIND_ENDPOINT(match[1], Connector.Kind.INGEST_ENDPOINT)
        if not found:
            return self.get_response(request)
        connector = found[0]
        try:
            response = receive(request, connector)
        except exceptions.APIException as exc:
            response = self.problem(exc, connector)
        return self.finish(response)

    def problem(self, exc: exceptions.APIException, connector: Connector) -> Response:
        """As APIView.handle_exception answers: a 401 says how to authenticate."""
        if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
            exc.auth_header = sender_authenticate_header(connector)
        return exception_handler(exc, {})

    def finish(self, response):
        if isinstance(response, Response):
            response.accepted_renderer = RENDERER
            response.accepted_media_type = RENDERER.media_type
            response.renderer_context = {}
            response.render()
        response["Allow"] = self.allow
        patch_vary_headers(response, ("Accept",))
        # CommonMiddleware's, on the other path.
        response["Content-Length"] = str(len(response.content))
        return response
