from __future__ import annotations

import pytest

from mailbox.models import MailboxRecord
from pipelines.runs.models import RecordError, Run
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


# JSON readers take a whole number beyond 64 bits as a double, and refuse one that overflows it
# (about 1.8e308): 308 digits is the longest every such number of, read back.
LONGEST = "9" * 308


@pytest.mark.parametrize("text", ["1e400", "9" * 400, "-" + "9" * 309, "1" + "0" * 308 + ".0"])
def test_a_whole_number_too_long_to_read_back_is_rejected_naming_the_field(orders, post, text):
    box = make_connector("mailbox", "Orders box", [{"name": "order_id", "type": "integer"}])
    make_pipeline(orders, box)

    response = post(orders, {"order_id": text, "email": "a@b.co"})

    assert response.status_code == 202, response.content
    assert response.json()["rejected"] == 1
    (error,) = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "order_id")
    assert error["message"].endswith("is too large (at most 308 digits)")
    assert not MailboxRecord.objects.exists()


@pytest.mark.parametrize("content_type", ["application/json", "text/csv", "application/x-ndjson"])
def test_the_longest_whole_number_taken_is_polled_back_in_every_format(
    orders, post, client, content_type
):
    box = make_connector("mailbox", "Orders box", [{"name": "order_id", "type": "integer"}])
    make_pipeline(orders, box)
    box_token = box.rotate_token()

    response = post(orders, {"order_id": LONGEST, "email": "a@b.co"})

    assert response.json()["accepted"] == 1, response.content
    polled = client.get(
        f"/api/v1/mailbox/{box.slug}/",
        HTTP_AUTHORIZATION=f"Bearer {box_token}",
        HTTP_ACCEPT=content_type,
    )
    assert polled.status_code == 200
    assert LONGEST in polled.content.decode()


def test_a_whole_number_from_text_is_delivered_one_per_request(
    orders, post, httpserver, settings, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_request("/hooks", method="POST").respond_with_data("", status=204)
    hooks = make_connector(
        "http_destination",
        "Hooks",
        [{"name": "order_id", "type": "integer"}],
        url=httpserver.url_for("/hooks"),
    )
    make_pipeline(orders, hooks)

    with django_capture_on_commit_callbacks(execute=True):
        accepted = post(orders, [{"order_id": LONGEST, "email": "a@b.co"}])
        rejected = post(orders, [{"order_id": "1e400", "email": "a@b.co"}])

    assert (accepted.json()["accepted"], rejected.json()["rejected"]) == (1, 1)
    ((sent, _),) = httpserver.log
    assert sent.get_data(as_text=True).replace(" ", "") == f'{{"order_id":{LONGEST}}}'


@pytest.mark.parametrize("type_name", ["integer", "number"])
def test_a_mapping_constant_too_long_to_read_back_rejects_the_record(orders, post, type_name):
    # The API takes a constant of any size; records carrying 10**400 were stored where no
    # reader of ours could read them back (the mailbox's CSV poll answered 500).
    box = make_connector("mailbox", "Orders box", [{"name": "total", "type": type_name}])
    make_pipeline(orders, box, [{"target": "total", "value": 10**400}])

    response = post(orders, {"order_id": 1, "email": "a@b.co"})

    assert response.status_code == 202, response.content
    assert not MailboxRecord.objects.exists()
    [run] = Run.objects.all()
    [error] = RecordError.objects.filter(run=run)
    assert error.errors[0]["field"] == "total"
    assert error.errors[0]["message"] == ("the whole number is too large (at most 308 digits)")
