from __future__ import annotations

import pytest

from connectors.verification import VerificationFailed, hub_challenge, slack_challenge


def test_it_answers_slacks_url_verification():
    body = b'{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'

    assert slack_challenge(body) == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "event_callback", "challenge": "x"}',
        b'{"type": "url_verification"}',
        b'{"type": "url_verification", "challenge": 7}',
        b"[1, 2]",
        b"token=abc&challenge=x",
    ],
)
def test_anything_else_is_not_a_slack_handshake(body):
    assert slack_challenge(body) is None


def test_it_echoes_a_hub_challenge():
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.topic": "orders"}

    assert hub_challenge(query) == "1158201444"


def test_a_query_without_a_subscribe_challenge_is_not_a_handshake():
    assert hub_challenge({"hub.challenge": "1"}) is None
    assert hub_challenge({"hub.mode": "unsubscribe", "hub.challenge": "1"}) is None
    assert hub_challenge({"hub.mode": "subscribe"}) is None


def test_a_verify_token_must_pass_the_check_when_one_is_given():
    query = {"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "sc_good"}

    assert hub_challenge(query, check_token=lambda token: token == "sc_good") == "42"
    with pytest.raises(VerificationFailed, match=r"hub\.verify_token does not match"):
        hub_challenge(query, check_token=lambda token: False)
