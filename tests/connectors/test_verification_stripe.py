from __future__ import annotations

import hmac
import json
from hashlib import sha256

import pytest

from connectors.verification import VerificationFailed, clean_verification, sign_example, verify

SECRET = "whsec_test_secret"
BODY = json.dumps({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event"}).encode()
NOW = 1_700_000_000
CONFIG = clean_verification({"scheme": "stripe", "secret": SECRET})


def stripe_header(payload: bytes, secret: str, timestamp: int) -> str:
    # As stripe-python's WebhookSignature.generate_signature_header does: the secret as written
    # (UTF-8, whsec_ included) keys an HMAC-SHA256 of "<timestamp>.<payload>", in hex.
    signed_payload = f"{timestamp}.{payload.decode('utf-8')}"
    signature = hmac.new(secret.encode("utf-8"), signed_payload.encode("utf-8"), sha256)
    return f"t={timestamp},v1={signature.hexdigest()}"


def rejection(config, headers, body=BODY, now=NOW) -> str:
    with pytest.raises(VerificationFailed) as caught:
        verify(config, headers, body, now)
    assert SECRET not in caught.value.reason
    assert stripe_header(body, SECRET, NOW).split("v1=")[1] not in caught.value.reason
    return caught.value.reason


def test_it_accepts_a_stripe_signature_and_gives_the_event_id():
    verified = verify(CONFIG, {"Stripe-Signature": stripe_header(BODY, SECRET, NOW)}, BODY, NOW)

    assert verified.scheme == "stripe"
    assert verified.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"


def test_it_signs_as_stripe_python_does():
    assert sign_example(CONFIG, BODY, NOW) == {"Stripe-Signature": stripe_header(BODY, SECRET, NOW)}


def test_any_v1_signature_may_match():
    # While a secret is rolled Stripe signs with each, and may add other schemes (v0).
    header = stripe_header(BODY, SECRET, NOW)
    header = f"t={NOW},v0=6ffbb5,v1={'0' * 64},{header.split(',')[1]}"

    assert verify(CONFIG, {"stripe-signature": header}, BODY, NOW).scheme == "stripe"


def test_a_body_without_an_id_verifies_without_an_event_id():
    body = b"not json"
    headers = {"Stripe-Signature": stripe_header(body, SECRET, NOW)}

    assert verify(CONFIG, headers, body, NOW).event_id is None


def test_it_rejects_a_tampered_body():
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, NOW)}

    assert rejection(CONFIG, headers, BODY.replace(b"event", b"evenT")) == (
        "signature does not match"
    )


def test_it_rejects_a_signature_made_with_another_secret():
    headers = {"Stripe-Signature": stripe_header(BODY, "whsec_other", NOW)}

    assert rejection(CONFIG, headers) == "signature does not match"


def test_it_rejects_a_signed_timestamp_changed_in_the_header():
    header = stripe_header(BODY, SECRET, NOW).replace(f"t={NOW}", f"t={NOW + 1}")

    assert rejection(CONFIG, {"Stripe-Signature": header}) == "signature does not match"


def test_it_rejects_a_stale_timestamp():
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, NOW - 301)}

    assert rejection(CONFIG, headers) == "timestamp too old (more than 300 s)"
    assert verify(CONFIG, headers, BODY, NOW - 1).scheme == "stripe"


def test_it_rejects_a_timestamp_in_the_future():
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, NOW + 301)}

    assert rejection(CONFIG, headers) == "timestamp in the future (more than 300 s ahead)"


def test_a_timestamp_in_milliseconds_is_named_as_such():
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, NOW * 1000 + 999)}

    assert rejection(CONFIG, headers) == (
        "timestamp in the future (more than 300 s ahead; it reads as milliseconds: send seconds)"
    )
    huge = {"Stripe-Signature": stripe_header(BODY, SECRET, 10**4000)}
    assert rejection(CONFIG, huge) == "timestamp in the future (more than 300 s ahead)"


def test_the_tolerance_is_configurable():
    strict = clean_verification({"scheme": "stripe", "secret": SECRET, "tolerance_seconds": 10})
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, NOW - 11)}

    assert rejection(strict, headers) == "timestamp too old (more than 10 s)"


@pytest.mark.parametrize(
    "header,reason",
    [
        ("v1=abc", "malformed Stripe-Signature header (no t=<timestamp>)"),
        ("t=soon,v1=abc", "malformed Stripe-Signature header (not a Unix time)"),
        (f"t={NOW}", "malformed Stripe-Signature header (no v1 signature)"),
        (f"t={NOW},t={NOW},v1=abc", "malformed Stripe-Signature header (no t=<timestamp>)"),
    ],
)
def test_it_rejects_a_malformed_header(header, reason):
    assert rejection(CONFIG, {"Stripe-Signature": header}) == reason


def test_it_says_which_header_is_missing():
    assert rejection(CONFIG, {}) == "no Stripe-Signature header"


def test_the_previous_secret_verifies_during_a_rotation():
    rotated = clean_verification(
        {"scheme": "stripe", "secret": "whsec_new", "previous_secret": SECRET}
    )
    headers = {"Stripe-Signature": stripe_header(BODY, SECRET, NOW)}

    assert verify(rotated, headers, BODY, NOW).by_previous_secret


def test_a_made_up_signature_over_a_deeply_nested_body_is_a_wrong_signature():
    # The body was read for its event id before the signature was checked, by json, which
    # raises RecursionError past Python's recursion limit: a 500 for anyone's request.
    body = b"[" * 100_000

    assert rejection(CONFIG, {"Stripe-Signature": f"t={NOW},v1={'0' * 64}"}, body) == (
        "signature does not match"
    )


def test_a_signed_deeply_nested_body_verifies_without_an_event_id():
    body = b'{"id": "evt_1", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    headers = {"Stripe-Signature": stripe_header(body, SECRET, NOW)}

    assert verify(CONFIG, headers, body, NOW).event_id is None
