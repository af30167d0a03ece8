from __future__ import annotations

import pytest

from connectors.verification import VerificationFailed, clean_verification, sign_example, verify

# GitHub's documented example ("Validating webhook deliveries").
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
NOW = 1_700_000_000
CONFIG = clean_verification({"scheme": "github", "secret": SECRET})


def rejection(config, headers, body=BODY) -> str:
    with pytest.raises(VerificationFailed) as caught:
        verify(config, headers, body, NOW)
    assert SECRET not in caught.value.reason
    assert SIGNATURE[7:] not in caught.value.reason
    return caught.value.reason


def test_it_accepts_githubs_documented_example():
    verified = verify(CONFIG, {"X-Hub-Signature-256": SIGNATURE}, BODY, NOW)

    assert verified.scheme == "github"
    assert verified.event_id is None
    assert not verified.by_previous_secret


def test_it_signs_as_github_does():
    assert sign_example(CONFIG, BODY, NOW) == {"X-Hub-Signature-256": SIGNATURE}


def test_header_names_and_hex_digits_are_read_in_any_case():
    headers = {"x-hub-signature-256": SIGNATURE.upper().replace("SHA256=", "sha256=")}

    assert verify(CONFIG, headers, BODY, NOW).scheme == "github"


def test_it_rejects_a_tampered_body():
    reason = rejection(CONFIG, {"X-Hub-Signature-256": SIGNATURE}, b"Hello, World?")

    assert reason == "signature does not match"


def test_it_rejects_a_signature_made_with_another_secret():
    other = clean_verification({"scheme": "github", "secret": "another secret"})

    assert rejection(other, {"X-Hub-Signature-256": SIGNATURE}) == "signature does not match"


def test_it_says_which_header_is_missing():
    assert rejection(CONFIG, {}) == "no X-Hub-Signature-256 header"
    assert rejection(CONFIG, {"X-Hub-Signature": "sha1=abc"}) == "no X-Hub-Signature-256 header"


def test_it_rejects_a_signature_without_its_prefix():
    reason = rejection(CONFIG, {"X-Hub-Signature-256": SIGNATURE.removeprefix("sha256=")})

    assert reason == "malformed X-Hub-Signature-256 header (it does not start with sha256=)"


def test_the_previous_secret_verifies_during_a_rotation():
    rotated = clean_verification(
        {"scheme": "github", "secret": "the new secret", "previous_secret": SECRET}
    )

    verified = verify(rotated, {"X-Hub-Signature-256": SIGNATURE}, BODY, NOW)
    assert verified.by_previous_secret
    new_headers = sign_example(rotated, BODY, NOW)
    assert not verify(rotated, new_headers, BODY, NOW).by_previous_secret


def test_once_the_previous_secret_is_removed_it_no_longer_verifies():
    rotated = clean_verification({"scheme": "github", "secret": "the new secret"})

    assert rejection(rotated, {"X-Hub-Signature-256": SIGNATURE}) == "signature does not match"
