"""The "username is a secret" box masks the username as it is typed (Segment's write key)."""

from __future__ import annotations


def test_the_username_is_masked_while_the_box_is_checked(signed_in):
    page = signed_in
    page.goto("/connectors/new/http_destination/")
    page.locator("#id_auth_type").select_option("basic")
    username = page.locator("#id_auth_username")
    username.fill("wk_typed_key")

    assert username.get_attribute("type") == "text"
    page.get_by_label("The username is a secret").check()
    assert username.get_attribute("type") == "password"
    assert username.input_value() == "wk_typed_key"  # masked, not lost
    page.get_by_label("The username is a secret").uncheck()
    assert username.get_attribute("type") == "text"
