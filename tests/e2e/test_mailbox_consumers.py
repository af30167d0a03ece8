"""A mailbox's consumers in the browser: each with its backlog, and a retired one forgotten."""

from __future__ import annotations

import pytest

from mailbox.models import ConsumerCursor, append_records
from tests.helpers import make_connector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_each_consumers_backlog_and_forgets_a_retired_one(signed_in, screenshot):
    page = signed_in
    mailbox = make_connector("mailbox", "Clean orders", [{"name": "id", "type": "integer"}])
    append_records(mailbox, [f'{{"id": {n}}}' for n in range(1, 8)])
    ConsumerCursor.commit(mailbox, "billing", 5)
    ConsumerCursor.commit(mailbox, "old-crm", 1)

    page.goto(f"/connectors/{mailbox.pk}/")
    rows = page.locator("#consumers tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[:3] == ["billing", "#5", "2"]
    assert rows.nth(1).inner_text().split("\t")[:3] == ["old-crm", "#1", "6"]
    page.locator("#consumers").scroll_into_view_if_needed()
    screenshot("mailbox-consumers")

    # The page's confirm dialog is accepted by the `page` fixture.
    page.get_by_role("button", name="Forget consumer old-crm").click()
    page.get_by_text("Consumer “old-crm” forgotten: purges no longer wait for it.").wait_for()
    assert page.locator("#consumers tbody tr").count() == 1
    assert list(ConsumerCursor.objects.values_list("consumer", flat=True)) == ["billing"]
