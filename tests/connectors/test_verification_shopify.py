from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.verification import VerificationFailed, clean_verification, sign_example, verify

SECRET = "shpss_0123456789abcdef"
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
NOW = 1_700_000_000
CONFIG = clean_verification({"scheme": "shopify", "secret": SECRET})


def shopify_hmac(secret: str, body: bytes) -> str:
    # As Shopify documents it: base64 of the HMAC-SHA256 of the raw body, keyed by the secret.
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def rejection(config, headers, body=BODY) -> str:
    with pytest.raises(VerificationFailed) as caught:
        verify(config, headers, body, NOW)
    assert SECRET not in caught.value.reason
    assert shopify_hmac(SECRET, body) not in caught.value.reason
    return caught.value.reason


def test_it_accepts_a_shopify_signature():
    headers = {"X-Shopify-Hmac-Sha256": shopify_hmac(SECRET, BODY)}

    assert verify(CONFIG, headers, BODY, NOW).scheme == "shopify"
    assert sign_example(CONFIG, BODY, NOW) == headers


def test_it_rejects_a_tampered_body():
    headers = {"X-Shopify-Hmac-Sha256": shopify_hmac(SECRET, BODY)}

    assert rejection(CONFIG, headers, BODY + b" ") == "signature does not match"


def test_it_rejects_a_signature_made_with_another_secret():
    headers = {"X-Shopify-Hmac-Sha256": shopify_hmac("shpss_other", BODY)}

    assert rejection(CONFIG, headers) == "signature does not match"


def test_it_rejects_a_hex_digest_where_base64_is_expected():
    hex_digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()

    assert rejection(CONFIG, {"X-Shopify-Hmac-Sha256": hex_digest}) == "signature does not match"


def test_it_says_which_header_is_missing():
    assert rejection(CONFIG, {"X-Hub-Signature-256": "sha256=00"}) == (
        "no X-Shopify-Hmac-Sha256 header"
    )


def test_the_previous_secret_verifies_during_a_rotation():
    rotated = clean_verification(
        {"scheme": "shopify", "secret": "shpss_new", "previous_secret": SECRET}
    )
    headers = {"X-Shopify-Hmac-Sha256": shopify_hmac(SECRET, BODY)}

    assert verify(rotated, headers, BODY, NOW).by_previous_secret
