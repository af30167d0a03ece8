"""The token scheme (the default, v1) and HTTP Basic."""

from __future__ import annotations

import base64

import pytest

from connectors.verification import VerificationFailed, clean_verification, sign_example, verify
from connectors.verification.credentials import TOKEN_INVALID

TOKEN = "sc_the-endpoint-token"
NOW = 1_700_000_000
BASIC = clean_verification({"scheme": "basic", "username": "acme", "password": "s3cret pass"})


def check_token(token: str) -> bool:
    return token == TOKEN


def basic(username: str, password: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


def rejection(config, headers, query=None) -> str:
    with pytest.raises(VerificationFailed) as caught:
        verify(config, headers, b"{}", NOW, query=query, check_token=check_token)
    assert "s3cret pass" not in caught.value.reason and TOKEN not in caught.value.reason
    return caught.value.reason


def test_the_default_is_the_bearer_token():
    assert clean_verification(None) == {"scheme": "token", "allow_query_token": False}
    headers = {"Authorization": f"Bearer {TOKEN}"}

    assert verify(None, headers, b"{}", NOW, check_token=check_token).scheme == "token"
    assert verify({}, headers, b"{}", NOW, check_token=check_token).scheme == "token"


def test_a_missing_or_wrong_token_gets_the_v1_answer():
    assert rejection(None, {}) == TOKEN_INVALID
    assert rejection(None, {"Authorization": "Bearer sc_wrong"}) == TOKEN_INVALID
    assert rejection(None, {"Authorization": f"Token {TOKEN}"}) == TOKEN_INVALID


def test_a_query_token_is_accepted_only_when_allowed():
    allowed = clean_verification({"scheme": "token", "allow_query_token": True})

    assert rejection(None, {}, query={"token": TOKEN}) == TOKEN_INVALID
    assert verify(allowed, {}, b"", NOW, query={"token": TOKEN}, check_token=check_token)
    assert rejection(allowed, {}, query={"token": "sc_wrong"}) == TOKEN_INVALID


def test_the_token_scheme_cannot_be_verified_without_a_token_check():
    with pytest.raises(TypeError):
        verify(None, {"Authorization": f"Bearer {TOKEN}"}, b"{}", NOW)


def test_the_token_example_is_a_placeholder():
    assert sign_example(None, b"{}", NOW) == {"Authorization": "Bearer <your endpoint token>"}


def test_basic_accepts_the_username_and_password():
    verified = verify(BASIC, basic("acme", "s3cret pass"), b"{}", NOW)

    assert verified.scheme == "basic" and not verified.by_previous_secret
    assert sign_example(BASIC, b"{}", NOW) == basic("acme", "s3cret pass")


def test_basic_rejects_a_wrong_password_or_username_alike():
    assert rejection(BASIC, basic("acme", "guess")) == "username or password does not match"
    assert rejection(BASIC, basic("other", "s3cret pass")) == "username or password does not match"


def test_basic_says_what_is_missing_or_malformed():
    assert rejection(BASIC, {}) == "no Authorization header"
    assert rejection(BASIC, {"Authorization": f"Bearer {TOKEN}"}) == (
        "no Authorization: Basic header"
    )
    assert rejection(BASIC, {"Authorization": "Basic not-base64!"}) == (
        "malformed Authorization header (expected Basic <base64 of username:password>)"
    )


def test_basic_accepts_the_previous_password_during_a_rotation():
    rotated = clean_verification(
        {
            "scheme": "basic",
            "username": "acme",
            "password": "new pass",
            "previous_password": "s3cret pass",
        }
    )

    assert verify(rotated, basic("acme", "s3cret pass"), b"{}", NOW).by_previous_secret
    assert not verify(rotated, basic("acme", "new pass"), b"{}", NOW).by_previous_secret
