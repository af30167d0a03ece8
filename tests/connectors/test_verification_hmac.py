from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.verification import (
    InvalidVerification,
    VerificationFailed,
    clean_verification,
    sign_example,
    verify,
)

SECRET = "generic-secret-17"
BODY = b'{"order": 42}'
NOW = 1_700_000_000


def config(**settings):
    return clean_verification({"scheme": "hmac", "secret": SECRET, **settings})


def rejection(config, headers, body=BODY) -> str:
    with pytest.raises(VerificationFailed) as caught:
        verify(config, headers, body, NOW)
    assert SECRET not in caught.value.reason
    return caught.value.reason


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_it_accepts_each_algorithm_in_hex(algorithm):
    digest = hmac.new(SECRET.encode(), BODY, algorithm).hexdigest()

    verified = verify(
        config(header="X-Signature", algorithm=algorithm), {"X-Signature": digest}, BODY, NOW
    )
    assert verified.scheme == "hmac"


def test_it_accepts_base64_with_a_prefix():
    digest = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha512).digest()).decode()
    settings = config(header="X-Sig", algorithm="sha512", encoding="base64", prefix="sha512=")

    assert verify(settings, {"x-sig": f"sha512={digest}"}, BODY, NOW).scheme == "hmac"
    assert sign_example(settings, BODY, NOW) == {"X-Sig": f"sha512={digest}"}


def test_the_defaults_are_sha256_in_hex_without_a_prefix():
    assert config(header="X-Signature") == {
        "scheme": "hmac",
        "secret": SECRET,
        "header": "X-Signature",
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": "",
        "allow_query_token": False,
    }


def test_it_rejects_a_tampered_body_and_another_secret():
    settings = config(header="X-Signature")
    headers = sign_example(settings, BODY, NOW)
    other = sign_example(config(header="X-Signature", secret="other-secret"), BODY, NOW)

    assert rejection(settings, headers, b'{"order": 43}') == "signature does not match"
    assert rejection(settings, other) == "signature does not match"


def test_it_rejects_another_algorithm():
    sha1 = hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()

    assert rejection(config(header="X-Signature"), {"X-Signature": sha1}) == (
        "signature does not match"
    )


def test_it_names_the_missing_header_and_the_missing_prefix():
    settings = config(header="X-Signature", prefix="sha256=")

    assert rejection(settings, {}) == "no X-Signature header"
    assert rejection(settings, {"X-Signature": "abc"}) == (
        "malformed X-Signature header (it does not start with sha256=)"
    )


def test_the_previous_secret_verifies_during_a_rotation():
    old = sign_example(config(header="X-Signature"), BODY, NOW)
    rotated = config(header="X-Signature", secret="new-secret", previous_secret=SECRET)

    assert verify(rotated, old, BODY, NOW).by_previous_secret


@pytest.mark.parametrize(
    "settings,field",
    [
        ({}, "header"),
        ({"header": "X Signature"}, "header"),
        ({"header": "X-Sig", "algorithm": "md5"}, "algorithm"),
        ({"header": "X-Sig", "encoding": "base32"}, "encoding"),
        ({"header": "X-Sig", "prefix": 7}, "prefix"),
    ],
)
def test_bad_settings_name_their_field(settings, field):
    with pytest.raises(InvalidVerification) as caught:
        config(**settings)

    assert caught.value.field == field
