from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"id": "ord_1", "amount": 12.5}'


def test_it_signs_as_standard_webhooks_expects():
    headers = signing.signature_headers([SECRET], "msg_1", BODY)

    assert Webhook(SECRET).verify(BODY, headers) == {"id": "ord_1", "amount": 12.5}
    assert headers["webhook-id"] == "msg_1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5


def test_it_matches_the_specification_example():
    # The example of the Standard Webhooks specification and its reference libraries.
    signature = signing.sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_it_refuses_a_tampered_body():
    headers = signing.signature_headers([SECRET], "msg_1", BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace(b"12.5", b"99.5"), headers)


def test_it_signs_with_every_secret_during_a_rotation():
    new_secret = signing.generate_secret()

    headers = signing.signature_headers([SECRET, new_secret], "msg_2", BODY, now=int(time.time()))

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(BODY, headers)
    Webhook(new_secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(BODY, headers)


def test_it_uses_the_given_time():
    headers = signing.signature_headers([SECRET], "msg_3", BODY, now=1700000000)

    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"] == signing.sign(SECRET, "msg_3", 1700000000, BODY)


def test_it_accepts_a_secret_without_its_prefix():
    bare = SECRET.removeprefix("whsec_")

    assert signing.sign(bare, "msg_4", 1700000000, BODY) == signing.sign(
        SECRET, "msg_4", 1700000000, BODY
    )


def test_it_generates_distinct_prefixed_secrets_of_24_bytes():
    first, second = signing.generate_secret(), signing.generate_secret()

    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24


@pytest.mark.parametrize("secret", ["whsec_", "not base64!", "whsec_%%%%"])
def test_it_refuses_unusable_secrets(secret):
    with pytest.raises(ValueError):
        signing.sign(secret, "msg_5", 1700000000, BODY)


def test_it_needs_at_least_one_secret():
    with pytest.raises(ValueError):
        signing.signature_headers([], "msg_6", BODY)
