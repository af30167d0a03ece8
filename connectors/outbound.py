"""The requests an HTTP destination receives: rendered from records, signed, and shown masked.

One record per request (`batch_size` 1): the URL, header values and body are rendered over
that record. A batch: the body is a JSON array (or `body_template` over `records`), and the
URL and header values must render the same for every record of the batch, since one request
has one URL: a batch that would go to two places is an error, never a guess.

Credentials from the connector's `auth` are applied when the request is sent
(`OutboundRequest.send`), so that an OAuth2 token is fetched by the worker, refreshed on a
401, and never fetched just to show a preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from connectors import auth, http, jsontext, signing
from connectors.redaction import Redactor
from connectors.secret_variables import usable
from connectors.secrets import MASK
from connectors.templating import TemplateError, compile_template, is_template

JSON = "application/json"
# Of a receiver's answer, only this much is read (excerpts show 4 KB of it).
RESPONSE_BYTES_KEPT = 64 * 1024
# Headers we set ourselves; a connector header of the same name is replaced, not doubled.
RESERVED_HEADERS = frozenset(
    {"idempotency-key", "webhook-id", "webhook-timestamp", "webhook-signature", "content-length"}
)


class RenderError(ValueError):
    """The records cannot become a request (a missing placeholder, a body that is not JSON)."""


@dataclass
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    record_count: int
    auth: dict[str, Any] = field(default_factory=dict, repr=False)
    # Flagged secret by the user; always-secret names (Authorization, ...) are masked anyway.
    secret_headers: frozenset[str] = frozenset()
    # Every secret of the connector, out of the errors, excerpts and displays of this request.
    redactor: Redactor = field(default_factory=Redactor, repr=False)

    def send(self, *, timeout: float, cache_key: str) -> http.Response:
        """Send it with the connector's credentials; TransportError when no response came back.

        Only the start of the answer is read: people see an excerpt, and a receiver's long
        answer must neither fail the delivery nor fill the worker's memory."""
        return auth.send_with_auth(
            self.auth,
            self.method,
            self.url,
            cache_key=cache_key,
            headers=self.headers,
            body=self.body,
            timeout=timeout,
            redact=self.redactor.redact,
            max_bytes=RESPONSE_BYTES_KEPT,
            truncate=True,
        )

    def masked(self) -> dict[str, Any]:
        """The request as shown to people (previews, attempt logs): credentials replaced by the mask."""
        headers = dict(self.headers)
        params: dict[str, Any] = {}
        credentials = auth.validate_auth(self.auth)
        if credentials["type"] == "oauth2_client_credentials":
            headers["Authorization"] = f"Bearer {MASK}"
        else:
            # No network for these types: the real headers, masked below.
            auth.apply_auth(credentials, headers, params, cache_key="")
        added = {name.lower() for name in headers if name not in self.headers}
        return self.redactor.redact_data(
            {
                "method": self.method,
                "url": _with_masked_params(self.url, params),
                "headers": http.mask_headers(headers, set(self.secret_headers) | added),
                "body": self.body.decode("utf-8", errors="replace"),
            }
        )


def _with_masked_params(url: str, params: dict[str, Any]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(name, MASK) for name in params]
    return urlunsplit(parts._replace(query=urlencode(query)))


def render_requests(
    connector, records: list[dict], *, idempotency_key: str
) -> list[OutboundRequest]:
    """The requests that would carry `records`: one per record, or one per `batch_size` records."""
    size = max(1, connector.batch_size)
    return [
        render_request(connector, records[i : i + size], idempotency_key=idempotency_key)
        for i in range(0, len(records), size)
    ]


def render_request(
    connector,
    records: list[dict] | None,
    *,
    idempotency_key: str,
    now: int | None = None,
    encoded: str | None = None,
    record_count: int = 0,
) -> OutboundRequest:
    """One request carrying all of `records` (a delivery holds one batch); RenderError when it cannot.

    `encoded` is the records already encoded as a JSON array (as a delivery stores them, with
    `record_count` of them): a batch that nothing templates is sent as that text, without
    decoding and encoding it again.
    """
    header_rows = list(connector.headers.all())
    redactor = Redactor.for_connector(connector, header_rows)
    try:
        return _render_request(
            connector, header_rows, redactor, records, idempotency_key, now, encoded, record_count
        )
    except RenderError as exc:
        # A rendered value in the message may be a secret header's, or the URL's credentials.
        raise RenderError(redactor.redact(str(exc))) from None


def _render_request(
    connector, header_rows, redactor, records, idempotency_key, now, encoded, record_count
) -> OutboundRequest:
    undecryptable = connector.undecryptable_secrets(header_rows)
    if undecryptable:
        raise RenderError(connector.pause_for_undecryptable(undecryptable))
    batched = connector.batch_size > 1
    templated = bool(connector.body_template) or any(
        is_template(text) for text in (connector.url, *(row.value for row in header_rows))
    )
    raw_body = encoded.encode() if encoded is not None and batched and not templated else None
    if records is None:
        records = jsontext.loads(encoded) if raw_body is None else None
    if not (records if raw_body is None else raw_body != b"[]"):
        raise RenderError("there is no record to send")
    # A context copies its record: a batch of 100 pays for 100 of them, which most destinations,
    # templating nothing, never read.
    contexts = (
        [template_context(connector, record, records) for record in records] if templated else []
    )
    url = _render_same(connector.url, contexts, "the URL")
    try:
        http.destination(url)
    except http.InvalidDestination as exc:
        raise RenderError(f"the URL cannot be called: {exc.reason}") from exc
    headers = {"Content-Type": JSON}
    for row in header_rows:
        if row.name.lower() in RESERVED_HEADERS:
            continue
        secret = row.secret or row.name.lower() in http.ALWAYS_SECRET_HEADERS
        value = _render_same(row.value, contexts, f"the header {row.name}", secret=secret)
        problem = http.header_problem(row.name, value)
        if problem:
            raise RenderError(f"{problem} once rendered" if value != row.value else problem)
        _replace_header(headers, row.name, value)
    body = raw_body or _render_body(connector, records, contexts, headers, batched)
    headers["Idempotency-Key"] = idempotency_key
    secrets = connector.signing_secrets()
    if secrets:
        try:
            headers.update(signing.signature_headers(secrets, idempotency_key, body, now=now))
        except ValueError as exc:
            raise RenderError(f"the signing secret is unusable: {exc}") from exc
    return OutboundRequest(
        method=connector.method or "POST",
        url=url,
        headers=headers,
        body=body,
        record_count=len(records) if records is not None else record_count,
        auth=dict(connector.auth or {}),
        secret_headers=frozenset(row.name.lower() for row in header_rows if row.secret),
        redactor=redactor,
    )


def template_context(connector, record: dict, records: list[dict]) -> dict[str, Any]:
    """What placeholders see: the connector's variables, the record's fields, `record` and
    `records`, and its secret variables, which a record's field of the same name cannot replace
    (a record must not choose where a webhook's credential goes)."""
    return {
        **(connector.variables or {}),
        **record,
        **usable(connector.secret_variables),
        "record": record,
        "records": records,
    }


def _render_same(text: str, contexts: list[dict], what: str, *, secret: bool = False) -> str:
    if not is_template(text):
        return text
    try:
        template = compile_template(text, strict=True)
        values = {template.render(context) for context in contexts}
    except TemplateError as exc:
        raise RenderError(f"{what} cannot be rendered: {exc}") from exc
    if len(values) > 1:
        # A secret header's values are never named: redaction knows the template, not them.
        shown = "" if secret else f" ({', '.join(sorted(values)[:2])})"
        raise RenderError(
            f"{what} differs between the records of one batch{shown}; "
            "use placeholders that are the same for the whole batch, or a batch size of 1"
        )
    return values.pop()


def _render_body(connector, records, contexts, headers, batched: bool) -> bytes:
    if not connector.body_template:
        return jsontext.dumps(records if batched else records[0]).encode()
    try:
        text = compile_template(connector.body_template).render(contexts[0])
    except TemplateError as exc:
        raise RenderError(f"the body template cannot be rendered: {exc}") from exc
    body = text.encode()
    if _header(headers, "Content-Type").split(";")[0].strip().lower() == JSON:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RenderError(
                f"the body template does not render valid JSON ({exc}); the tojson filter quotes values"
            ) from exc
    return body


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def _replace_header(headers: dict[str, str], name: str, value: str) -> None:
    for existing in [k for k in headers if k.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value
