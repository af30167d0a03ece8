"""The redaction step: every secret a connector holds, in every form it travels in, masked."""

from __future__ import annotations

import base64
import json
import logging
import sys
from urllib.parse import quote, quote_plus

import pytest

from connectors import auth, http
from connectors.outbound import RenderError, render_request
from connectors.redaction import Redactor, redact_known
from connectors.secrets import MASK
from osmosproject.logs import RedactSecrets
from pipelines.delivery.courier import deliver
from tests.helpers import make_connector
from tests.hostile_peers import Peer, answer
from tests.pipelines.delivery.destinations import make_delivery, make_destination


def test_it_masks_a_secret_as_is_url_encoded_base64_and_escaped():
    secret = 'k3y/+= "x'
    redactor = Redactor([secret])
    for form in (
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
        'k3y/+= \\"x',  # inside JSON
        'k3y\\/+= \\"x',  # inside JSON as PHP's json_encode writes it
    ):
        assert redactor.redact(f"before {form} after") == f"before {MASK} after"


def test_it_masks_a_secret_in_json_written_in_ascii():
    redactor = Redactor(["pässwörd/1"])

    # Python's json.dumps, and PHP's json_encode, by default.
    for form in ("p\\u00e4ssw\\u00f6rd/1", "p\\u00e4ssw\\u00f6rd\\/1"):
        assert redactor.redact(f'{{"error": "{form}"}}') == f'{{"error": "{MASK}"}}'


def test_a_receiver_echoing_the_token_in_php_json_sees_it_masked(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    token = "tok/en+with/slashes"
    echoed = json.dumps({"error": f"bad token {token}"}).replace("/", "\\/").encode()
    with Peer(answer(401, echoed, "Content-Type: application/json\r\n")) as peer:
        destination = make_destination(peer.url("/hooks"), auth={"type": "bearer", "token": token})
        delivery = make_delivery(destination, [{"id": 1}])
        deliver(delivery.pk)

    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 401
    assert attempt.response_excerpt == f'{{"error": "bad token {MASK}"}}'


def test_it_masks_the_credentials_of_a_secret_header_without_their_scheme(db):
    basic = base64.b64encode(b"svc:basic-password").decode()
    destination = make_connector("http_destination")
    destination.replace_headers(
        [
            {"name": "Authorization", "value": "Bearer 7f3c-token"},
            {"name": "X-Upstream-Auth", "value": f"Basic {basic}", "secret": True},
        ]
    )
    redactor = Redactor.for_connector(destination)

    assert redactor.redact("invalid token 7f3c-token") == f"invalid token {MASK}"
    assert redactor.redact(f"{basic} is svc:basic-password") == f"{MASK} is {MASK}"
    assert redactor.redact("wrong password basic-password") == f"wrong password {MASK}"


def test_a_receiver_echoing_the_token_without_its_scheme_sees_it_masked(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    echoed = b'{"error": "unknown token 7f3c-token"}'
    with Peer(answer(401, echoed, "Content-Type: application/json\r\n")) as peer:
        destination = make_destination(
            peer.url("/hooks"), headers=[{"name": "Authorization", "value": "Bearer 7f3c-token"}]
        )
        delivery = make_delivery(destination, [{"id": 1}])
        deliver(delivery.pk)

    assert delivery.attempt_log.get().response_excerpt == f'{{"error": "unknown token {MASK}"}}'


def test_it_leaves_short_values_and_the_mask_alone():
    redactor = Redactor(["abc", MASK, ""])

    assert redactor.redact("abc abcd ********") == "abc abcd ********"


def test_it_redacts_documents_keys_included():
    redactor = Redactor(["hunter22"])

    assert redactor.redact_data({"hunter22": ["a hunter22", 3, None]}) == {
        MASK: [f"a {MASK}", 3, None]
    }


def test_it_finds_every_secret_of_an_http_destination(db):
    destination = make_connector(
        "http_destination",
        url="https://svc:url-pass@api.example.com/hooks",
        auth={"type": "basic", "username": "alice", "password": "basic-pass"},
        signing_secret="whsec_c2lnbmluZy1zZWNyZXQ=",
        previous_signing_secret="whsec_cHJldmlvdXMtc2VjcmV0",
    )
    destination.replace_headers(
        [
            {"name": "X-Secret", "value": "header-secret", "secret": True},
            {"name": "X-Api-Key", "value": "always-secret"},  # secret by its name
            {"name": "X-Plain", "value": "plain-value"},
        ]
    )
    text = " ".join(
        [
            "url-pass",
            "basic-pass",
            base64.b64encode(b"alice:basic-pass").decode(),
            base64.b64encode(b"svc:url-pass").decode(),
            "whsec_c2lnbmluZy1zZWNyZXQ=",
            "whsec_cHJldmlvdXMtc2VjcmV0",
            "header-secret",
            "always-secret",
            "plain-value",
        ]
    )

    assert Redactor.for_connector(destination).redact(text) == " ".join(
        [MASK] * 8 + ["plain-value"]
    )


def test_it_finds_the_api_key_and_oauth2_secrets(db):
    key = make_connector(
        "http_source", auth={"type": "api_key", "in": "query", "name": "key", "value": "k/ey+1"}
    )
    oauth = make_connector(
        "http_source",
        auth={
            "type": "oauth2_client_credentials",
            "token_url": "https://auth.example.com/token",
            "client_id": "app:1",
            "client_secret": "client-secret",
        },
    )
    client_basic = auth.basic_credentials(quote_plus("app:1"), quote_plus("client-secret"))

    assert Redactor.for_connector(key).redact("/items?key=k%2Fey%2B1") == f"/items?key={MASK}"
    assert Redactor.for_connector(oauth).redact(f"client-secret Basic {client_basic}") == (
        f"{MASK} Basic {MASK}"
    )


def test_it_finds_the_verification_secrets_of_an_ingest_endpoint(db):
    endpoint = make_connector(
        "ingest_endpoint",
        verification={"scheme": "github", "secret": "gh-secret", "previous_secret": "gh-old"},
    )

    assert Redactor.for_connector(endpoint).redact("gh-secret gh-old") == f"{MASK} {MASK}"


def test_it_masks_tokens_fetched_after_it_was_made(db, httpserver, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/token").respond_with_json({"access_token": "runtime-token"})
    config = {
        "type": "oauth2_client_credentials",
        "token_url": httpserver.url_for("/token"),
        "client_id": "app",
        "client_secret": "client-secret",
    }
    source = make_connector("http_source", auth=config)
    redactor = Redactor.for_connector(source)
    key = f"connector-{source.pk}"

    auth.apply_auth(config, {}, {}, cache_key=key)
    auth.invalidate(key)  # after a 401: forgotten for sending, not for redacting

    assert redactor.redact("Bearer runtime-token") == f"Bearer {MASK}"
    assert redact_known("Bearer runtime-token") == f"Bearer {MASK}"


def test_an_excerpt_never_shows_part_of_a_secret_across_the_cut():
    secret = "a-long-secret-value"
    response = http.Response(200, {}, b"x" * 10 + secret.encode(), 1.0, "https://example.com/")
    response.redact = Redactor([secret]).redact

    assert response.excerpt(15).startswith("x" * 10 + "*****")
    assert "a-lon" not in response.excerpt(15)


def test_the_log_filter_masks_what_this_process_has_seen(db):
    source = make_connector("http_source", auth={"type": "bearer", "token": "seen-token"})
    Redactor.for_connector(source)
    record = logging.makeLogRecord(
        {"msg": "sent %s", "args": ("Bearer seen-token",), "error": "seen-token"}
    )
    try:
        raise ValueError("a library's text with seen-token")
    except ValueError:
        record.exc_info = sys.exc_info()

    assert RedactSecrets().filter(record) is True
    assert record.getMessage() == f"sent Bearer {MASK}"
    assert record.error == MASK
    assert "seen-token" not in record.exc_text


def test_the_log_filter_is_on_the_console_handler(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert "secrets" in handler["filters"]
    assert settings.LOGGING["filters"]["secrets"]["()"] == "osmosproject.logs.RedactSecrets"


def test_urllib3_never_logs_request_urls():
    # It logs each URL, query string included, at DEBUG.
    assert not logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.DEBUG)


def test_a_request_that_cannot_be_rendered_names_no_secret(db):
    destination = make_connector(
        "http_destination", url="https://api.example.com/hooks", batch_size=2
    )
    destination.replace_headers(
        [{"name": "X-Secret", "value": "token-{{ tenant }}-secret", "secret": True}]
    )

    with pytest.raises(RenderError) as caught:
        render_request(destination, [{"tenant": "a"}, {"tenant": "b"}], idempotency_key="1")

    assert "differs between the records" in str(caught.value)
    assert "-secret" not in str(caught.value)
