from __future__ import annotations

import pytest

from mailbox.models import MailboxRecord
from pipelines.pull.runs import pull
from tests.pipelines.pull.source_helpers import mailbox_ids, source_into_mailbox

BIG = "123456789012345678901234567890"


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def mailbox_texts(box) -> list[str]:
    return list(
        MailboxRecord.objects.filter(mailbox=box).order_by("seq").values_list("data", flat=True)
    )


def test_a_pulled_integer_beyond_64_bits_reaches_the_mailbox_exactly(db, httpserver):
    httpserver.expect_request("/items").respond_with_data(
        f'[{{"id": {BIG}, "name": "big"}}]', content_type="application/json"
    )
    source, box = source_into_mailbox(httpserver.url_for("/items"))

    run = pull(source)

    assert run.status == "succeeded", run.error
    assert mailbox_texts(box) == [f'{{"id":{BIG},"name":"big"}}']


def test_a_page_read_for_its_cursor_keeps_it_exact_too(db, httpserver):
    httpserver.expect_request("/items").respond_with_data(
        f'{{"data": [{{"id": {BIG}, "name": "big"}}], "next": null}}',
        content_type="application/json",
    )
    source, box = source_into_mailbox(
        httpserver.url_for("/items"),
        records_path="data",
        pagination={"type": "cursor", "param": "cursor", "cursor_path": "next"},
    )

    run = pull(source)

    assert run.status == "succeeded", run.error
    assert mailbox_texts(box) == [f'{{"id":{BIG},"name":"big"}}']


def test_a_primary_key_beyond_64_bits_is_remembered_as_seen(db, httpserver):
    httpserver.expect_request("/items").respond_with_data(
        f'[{{"id": {BIG}, "name": "big"}}]', content_type="application/json"
    )
    source, box = source_into_mailbox(httpserver.url_for("/items"), primary_key="id")

    first, second = pull(source), pull(source)

    assert (first.status, second.status) == ("succeeded", "succeeded"), first.error
    assert second.detail["duplicates"] == 1
    assert mailbox_texts(box) == [f'{{"id":{BIG},"name":"big"}}']


def test_a_cursor_beyond_64_bits_is_sent_back_exactly(db, httpserver):
    httpserver.expect_request("/items", query_string=f"cursor={BIG}").respond_with_data(
        '{"data": [{"id": 2, "name": "second"}], "next": null}', content_type="application/json"
    )
    httpserver.expect_request("/items", query_string="").respond_with_data(
        f'{{"data": [{{"id": 1, "name": "first"}}], "next": {BIG}}}',
        content_type="application/json",
    )
    source, box = source_into_mailbox(
        httpserver.url_for("/items"),
        records_path="data",
        pagination={"type": "cursor", "param": "cursor", "cursor_path": "next"},
    )

    run = pull(source)

    assert run.status == "succeeded", run.error
    assert [dict(request.args) for request, _ in httpserver.log] == [{}, {"cursor": BIG}]
    assert mailbox_ids(box) == [1, 2]
