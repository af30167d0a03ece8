from __future__ import annotations

import pytest

from connectors.secrets import MASK
from connectors.verification import (
    InvalidVerification,
    clean_verification,
    mask_verification,
    merge_masked,
)


def field_of(data) -> str:
    with pytest.raises(InvalidVerification) as caught:
        clean_verification(data)
    return caught.value.field


def test_it_fills_the_defaults_of_a_timestamped_scheme():
    assert clean_verification({"scheme": "slack", "secret": "abc"}) == {
        "scheme": "slack",
        "secret": "abc",
        "tolerance_seconds": 300,
        "allow_query_token": False,
    }


def test_an_empty_previous_secret_is_left_out():
    cleaned = clean_verification({"scheme": "github", "secret": "abc", "previous_secret": None})

    assert "previous_secret" not in cleaned


@pytest.mark.parametrize(
    "data,field",
    [
        ({"scheme": "gitlab"}, "scheme"),
        ({"scheme": "github"}, "secret"),
        ({"scheme": "github", "secret": ""}, "secret"),
        ({"scheme": "github", "secret": 42}, "secret"),
        ({"scheme": "github", "secret": "abc\n"}, "secret"),
        ({"scheme": "github", "secret": "abc", "previous_secret": ["x"]}, "previous_secret"),
        ({"scheme": "github", "secret": "abc", "tolerance_seconds": 60}, "tolerance_seconds"),
        ({"scheme": "github", "secret": "abc", "secrett": "x"}, "secrett"),
        ({"scheme": "stripe", "secret": "abc", "tolerance_seconds": 0}, "tolerance_seconds"),
        ({"scheme": "stripe", "secret": "abc", "tolerance_seconds": "300"}, "tolerance_seconds"),
        ({"scheme": "stripe", "secret": "abc", "tolerance_seconds": True}, "tolerance_seconds"),
        ({"scheme": "standard_webhooks", "secret": "whsec_%%%"}, "secret"),
        ({"scheme": "token", "allow_query_token": "yes"}, "allow_query_token"),
        ({"scheme": "token", "secret": "abc"}, "secret"),
        ({"scheme": "basic", "password": "p"}, "username"),
        ({"scheme": "basic", "username": "a:b", "password": "p"}, "username"),
        ({"scheme": "basic", "username": "a"}, "password"),
    ],
)
def test_bad_settings_name_their_field(data, field):
    assert field_of(data) == field


def test_an_error_never_repeats_the_secret():
    with pytest.raises(InvalidVerification) as caught:
        clean_verification({"scheme": "standard_webhooks", "secret": "whsec_very-secret-value"})

    assert "very-secret-value" not in str(caught.value)


def test_a_setting_that_is_not_an_object_is_refused():
    assert field_of(["github"]) == ""


def test_secrets_are_masked_for_display():
    config = clean_verification(
        {"scheme": "basic", "username": "acme", "password": "p", "previous_password": "q"}
    )

    assert mask_verification(config) == {
        "scheme": "basic",
        "username": "acme",
        "password": MASK,
        "previous_password": MASK,
        "allow_query_token": False,
    }
    assert mask_verification(None) == {"scheme": "token", "allow_query_token": False}


def test_a_masked_secret_sent_back_keeps_the_stored_one():
    stored = {"scheme": "github", "secret": "old", "previous_secret": "older"}

    assert merge_masked(stored, {"scheme": "github", "secret": MASK}) == {
        "scheme": "github",
        "secret": "old",
    }
    assert merge_masked(stored, {"scheme": "github", "secret": "new", "previous_secret": MASK}) == {
        "scheme": "github",
        "secret": "new",
        "previous_secret": "older",
    }


def test_a_mask_with_nothing_stored_behind_it_is_refused():
    with pytest.raises(InvalidVerification) as caught:
        merge_masked({}, {"scheme": "github", "secret": MASK})
    assert caught.value.field == "secret"

    with pytest.raises(InvalidVerification):
        merge_masked({"scheme": "shopify", "secret": "s"}, {"scheme": "github", "secret": MASK})
