from __future__ import annotations

import pytest

from connectors.verification import VerificationFailed, clean_verification, sign_example, verify

# Slack's documented example ("Verifying requests from Slack").
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
HEADERS = {"X-Slack-Request-Timestamp": str(TIMESTAMP), "X-Slack-Signature": SIGNATURE}
CONFIG = clean_verification({"scheme": "slack", "secret": SECRET})


def rejection(config, headers, body=BODY, now=TIMESTAMP) -> str:
    with pytest.raises(VerificationFailed) as caught:
        verify(config, headers, body, now)
    assert SECRET not in caught.value.reason
    assert SIGNATURE[3:] not in caught.value.reason
    return caught.value.reason


def test_it_accepts_slacks_documented_example():
    verified = verify(CONFIG, HEADERS, BODY, TIMESTAMP + 5)

    assert verified.scheme == "slack"
    assert verified.event_id is None


def test_it_signs_as_slack_does():
    assert sign_example(CONFIG, BODY, TIMESTAMP) == HEADERS


def test_it_rejects_a_tampered_body():
    assert rejection(CONFIG, HEADERS, BODY.replace(b"foobar", b"foobaz")) == (
        "signature does not match"
    )


def test_it_rejects_a_signature_made_with_another_secret():
    other = sign_example(
        clean_verification({"scheme": "slack", "secret": "another-secret"}), BODY, TIMESTAMP
    )

    assert rejection(CONFIG, other) == "signature does not match"


def test_it_rejects_a_changed_timestamp():
    headers = {**HEADERS, "X-Slack-Request-Timestamp": str(TIMESTAMP + 1)}

    assert rejection(CONFIG, headers) == "signature does not match"


def test_it_rejects_a_stale_timestamp():
    assert rejection(CONFIG, HEADERS, now=TIMESTAMP + 301) == "timestamp too old (more than 300 s)"


def test_it_rejects_a_timestamp_in_the_future():
    assert rejection(CONFIG, HEADERS, now=TIMESTAMP - 301) == (
        "timestamp in the future (more than 300 s ahead)"
    )


def test_it_says_which_header_is_missing():
    assert rejection(CONFIG, {"X-Slack-Signature": SIGNATURE}) == (
        "no X-Slack-Request-Timestamp header"
    )
    assert rejection(CONFIG, {"X-Slack-Request-Timestamp": str(TIMESTAMP)}) == (
        "no X-Slack-Signature header"
    )


def test_it_rejects_malformed_headers():
    assert rejection(CONFIG, {**HEADERS, "X-Slack-Signature": SIGNATURE[3:]}) == (
        "malformed X-Slack-Signature header (expected v0=<hex>)"
    )
    assert rejection(CONFIG, {**HEADERS, "X-Slack-Request-Timestamp": "yesterday"}) == (
        "malformed X-Slack-Request-Timestamp header (not a Unix time)"
    )


def test_the_previous_secret_verifies_during_a_rotation():
    rotated = clean_verification(
        {"scheme": "slack", "secret": "0123456789abcdef0123456789abcdef", "previous_secret": SECRET}
    )

    assert verify(rotated, HEADERS, BODY, TIMESTAMP).by_previous_secret
