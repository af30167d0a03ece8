"""A refused connector form shows every message where one can read it: those about one row of
the schema or headers editor in that row, those about the table as a whole above its rows."""

from __future__ import annotations

import pytest

from connectors.models import Connector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_field_name_defined_twice_is_said_above_the_schema_editor(signed_in):
    page = signed_in
    page.goto("/connectors/new/mailbox/")
    page.locator("#id_name").fill("Clean orders")
    for n in (1, 2):
        page.get_by_role("button", name="+ Add field").click()
        page.get_by_label(f"Field {n} name").fill("email")
    page.get_by_role("button", name="Create Mailbox").click()

    page.get_by_text("Some settings need your attention").wait_for()
    editor = page.locator("[data-schema-editor]")
    assert editor.get_by_text("The field 'email' is defined twice.").is_visible()
    assert not Connector.objects.exists()


def test_a_row_message_is_said_once_in_its_row(signed_in):
    page = signed_in
    page.goto("/connectors/new/http_destination/")
    page.locator("#id_name").fill("CRM")
    page.locator("#id_url").fill("https://api.example.com/people")
    page.get_by_role("button", name="+ Add header").click()
    page.get_by_label("Header 1 name").fill("Bad Header:")
    page.get_by_label("Header 1 value").fill("x")
    page.get_by_role("button", name="Create HTTP destination").click()

    page.get_by_text("Some settings need your attention").wait_for()
    said = page.get_by_text("'Bad Header:' is not a valid HTTP header name.")
    assert [m.is_visible() for m in said.all()].count(True) == 1
