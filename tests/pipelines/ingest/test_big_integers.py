from __future__ import annotations

import pytest

from mailbox.models import MailboxRecord
from tests.helpers import make_connector, make_pipeline

BIG = "123456789012345678901234567890"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (f'[{{"order_id": {BIG}, "email": "a@b.co"}}]', "application/json"),
        (f'{{"order_id": {BIG}, "email": "a@b.co"}}\n', "application/x-ndjson"),
        (f"order_id,email\n{BIG},a@b.co\n", "text/csv"),
    ],
)
def test_an_integer_beyond_64_bits_reaches_the_mailbox_exactly(orders, post, body, content_type):
    box = make_connector(
        "mailbox",
        "Orders box",
        [
            {"name": "order_id", "type": "integer", "required": True},
            {"name": "email", "type": "email"},
        ],
    )
    make_pipeline(orders, box)

    response = post(orders, body, content_type)

    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 1
    row = MailboxRecord.objects.get(mailbox=box)
    assert row.data == f'{{"order_id":{BIG},"email":"a@b.co"}}'


@pytest.mark.parametrize("body_template", ["", '{"order": {{ order_id | tojson }}}'])
def test_an_integer_beyond_64_bits_is_sent_to_an_http_destination_exactly(
    orders, post, httpserver, settings, body_template, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/hooks", method="POST").respond_with_data("", status=204)
    hooks = make_connector(
        "http_destination",
        "Hooks",
        [{"name": "order_id", "type": "integer", "required": True}],
        url=httpserver.url_for("/hooks"),
        body_template=body_template,
    )
    make_pipeline(orders, hooks)

    with django_capture_on_commit_callbacks(execute=True):  # the deliveries go out on commit
        response = post(orders, f'{{"order_id": {BIG}, "email": "a@b.co"}}')

    assert response.status_code == 202, response.content
    ((sent, _),) = httpserver.log
    expected = f'{{"order":{BIG}}}' if body_template else f'{{"order_id":{BIG}}}'
    assert sent.get_data(as_text=True).replace(" ", "") == expected
